import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { BedrockAgentCoreClient } from '@aws-sdk/client-bedrock-agentcore';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AgentCoreSessionMemory } from '../src/index.ts';
import { emptySession } from '../src/session-state.ts';

type StoredEvent = {
  memoryId: string;
  actorId: string;
  sessionId: string;
  eventId: string;
  eventTimestamp: number;
  payload: unknown[];
};

/**
 * TEST ONLY: a local stand-in for the AgentCore data plane's CreateEvent, ListEvents and DeleteEvent
 * (REST-JSON, the paths the SDK signs and calls). ListEvents pages one event at a time to exercise
 * `nextToken` and returns events newest first; `failDeletes` makes DeleteEvent answer 500.
 */
function startFakeAgentCore() {
  const events: StoredEvent[] = [];
  const calls: string[] = [];
  const control = { failDeletes: 0, nextId: 0 };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as Record<string, unknown>;
      const url = decodeURIComponent(req.url ?? '');
      calls.push(`${req.method} ${url}`);
      const json = (status: number, value: unknown, headers: Record<string, string> = {}) =>
        res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(value));
      const create = /^\/memories\/([^/]+)\/events$/.exec(url);
      const list = /^\/memories\/([^/]+)\/actor\/([^/]+)\/sessions\/([^/?]+)$/.exec(url);
      const remove = /^\/memories\/([^/]+)\/actor\/([^/]+)\/sessions\/([^/]+)\/events\/([^/?]+)$/.exec(url);
      if (req.method === 'POST' && create) {
        const event = {
          memoryId: create[1] ?? '',
          actorId: String(body.actorId),
          sessionId: String(body.sessionId),
          eventId: `e-${control.nextId++}`,
          eventTimestamp: Number(body.eventTimestamp),
          payload: body.payload as unknown[],
        };
        events.push(event);
        json(201, { event });
      } else if (req.method === 'POST' && list) {
        const matching = events
          .filter((e) => e.memoryId === list[1] && e.actorId === list[2] && e.sessionId === list[3])
          .reverse();
        const start = Number(body.nextToken ?? 0);
        const page = matching.slice(start, start + 1);
        const next = start + 1 < matching.length ? { nextToken: String(start + 1) } : {};
        json(200, { events: page, ...next });
      } else if (req.method === 'DELETE' && remove) {
        if (control.failDeletes > 0) {
          control.failDeletes -= 1;
          return json(500, { message: 'internal' }, { 'x-amzn-errortype': 'InternalServerException' });
        }
        const index = events.findIndex((e) => e.eventId === remove[4] && e.sessionId === remove[3]);
        if (index < 0) {
          return json(404, { message: 'no such event' }, { 'x-amzn-errortype': 'ResourceNotFoundException' });
        }
        events.splice(index, 1);
        json(200, { eventId: remove[4] });
      } else {
        json(404, { message: 'not found' });
      }
    });
  });
  return { server, events, calls, control };
}

const listCalls = (calls: string[], sessionId: string) =>
  calls.filter((c) => c.startsWith('POST') && c.endsWith(`/sessions/${sessionId}`));

/** A 1024 px PNG's worth of base64, as the gateway's 200 carries it. */
const IMAGE_BASE64 = Buffer.alloc(600_000, 7).toString('base64');

function withImage(sessionId: string, turn: number) {
  return {
    ...emptySession(sessionId, new Date(Date.UTC(2026, 0, 1, 0, turn))),
    turn,
    images: {
      'img-1': {
        id: 'img-1',
        request_id: 'req-1',
        prompt: 'a lighthouse',
        mime_type: 'image/png',
        data_url: `data:image/png;base64,${IMAGE_BASE64}`,
        url: 'https://images.example/img-1.png?sig=abc',
        created_at: '2026-01-01T00:00:00.000Z',
        transaction_hash: `0x${'12'.repeat(32)}`,
      },
    },
  };
}

describe('AgentCoreSessionMemory against a local CreateEvent/ListEvents/DeleteEvent endpoint', () => {
  const fake = startFakeAgentCore();
  let server: Server;
  let memory: AgentCoreSessionMemory;
  let client: BedrockAgentCoreClient;
  const logs: Record<string, unknown>[] = [];

  beforeAll(async () => {
    server = fake.server;
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    client = new BedrockAgentCoreClient({
      region: 'us-east-1',
      endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
      credentials: { accessKeyId: 'AKIDTEST', secretAccessKey: 'test-secret' },
      requestHandler: new NodeHttpHandler(),
      maxAttempts: 1,
    });
    memory = new AgentCoreSessionMemory({ client, memoryId: 'mem-1', log: (e) => logs.push(e) });
  });
  afterAll(() => new Promise((resolve) => server?.close(resolve)));

  it('keeps one snapshot per session and loads the newest of each session', async () => {
    const first = { ...emptySession('s-1', new Date('2026-01-01T00:00:00Z')), turn: 1 };
    const second = { ...first, turn: 2, spent: '40000', updated_at: '2026-01-01T00:01:00.000Z' };
    const other = { ...emptySession('s-2', new Date('2026-01-01T00:00:30Z')), turn: 7 };
    await memory.save(first);
    expect(await memory.load('s-1')).toStrictEqual(first);
    await memory.save(second);
    await memory.save(other);

    expect(await memory.load('s-1')).toStrictEqual(second);
    expect(await memory.load('s-2')).toStrictEqual(other);
    expect(await memory.load('s-3')).toBeUndefined();
    expect(fake.events.map((e) => [e.sessionId, e.actorId])).toStrictEqual([
      ['s-1', 'x402-image-agent'],
      ['s-2', 'x402-image-agent'],
    ]);
  });

  it('loads a long session with one ListEvents call: its history is not paged through', async () => {
    for (let turn = 1; turn <= 12; turn += 1) {
      const loaded = await memory.load('long');
      expect(loaded?.turn ?? 0).toBe(turn - 1);
      await memory.save({ ...emptySession('long', new Date(Date.UTC(2026, 0, 1, 0, turn))), turn });
    }
    const before = listCalls(fake.calls, 'long').length;
    expect((await memory.load('long'))?.turn).toBe(12);
    expect(listCalls(fake.calls, 'long').length - before).toBe(1);
    expect(fake.events.filter((e) => e.sessionId === 'long')).toHaveLength(1);
  });

  it('writes no image bytes: events hold image ids and URLs only', async () => {
    const record = withImage('img', 1);
    await memory.save(record);
    const blobs = fake.events.filter((e) => e.sessionId === 'img').map((e) => JSON.stringify(e.payload));
    expect(blobs).toHaveLength(1);
    expect(blobs[0]).not.toContain(IMAGE_BASE64.slice(0, 64));
    expect(blobs[0]).not.toContain('data:image');
    expect(blobs[0]?.length).toBeLessThan(2_000);
    const loaded = await memory.load('img');
    expect(loaded?.images['img-1']).toStrictEqual({
      id: 'img-1',
      request_id: 'req-1',
      prompt: 'a lighthouse',
      mime_type: 'image/png',
      url: 'https://images.example/img-1.png?sig=abc',
      created_at: '2026-01-01T00:00:00.000Z',
      transaction_hash: `0x${'12'.repeat(32)}`,
    });
    // The caller's record (the turn's output is built from it) keeps its bytes.
    expect(record.images['img-1']?.data_url).toContain(IMAGE_BASE64.slice(0, 64));
  });

  it('survives a failed clean-up: the newer snapshot wins and the next save removes the old one', async () => {
    await memory.save({ ...emptySession('crash', new Date('2026-01-01T00:00:00Z')), turn: 1 });
    await memory.load('crash');
    fake.control.failDeletes = 1;
    await memory.save({
      ...emptySession('crash', new Date('2026-01-01T00:01:00Z')),
      turn: 2,
      spent: '40000',
    });
    expect(fake.events.filter((e) => e.sessionId === 'crash')).toHaveLength(2);
    expect(logs.some((e) => e.event === 'memory_cleanup_failed')).toBe(true);

    // A new container (nothing remembered) loads the turn-2 snapshot, not the older one.
    const fresh = new AgentCoreSessionMemory({ client, memoryId: 'mem-1' });
    const loaded = await fresh.load('crash');
    expect([loaded?.turn, loaded?.spent]).toStrictEqual([2, '40000']);
    await fresh.save({ ...(loaded as NonNullable<typeof loaded>), turn: 3 });
    expect(fake.events.filter((e) => e.sessionId === 'crash').map((e) => e.eventTimestamp)).toHaveLength(1);
    expect((await fresh.load('crash'))?.turn).toBe(3);
  });

  it('does not depend on the order ListEvents returns events in (sessions written before one-snapshot saves)', async () => {
    for (const turn of [3, 5, 1, 4, 2]) {
      const record = { ...emptySession('legacy', new Date(Date.UTC(2026, 0, 1, 0, turn))), turn };
      fake.events.push({
        memoryId: 'mem-1',
        actorId: 'x402-image-agent',
        sessionId: 'legacy',
        eventId: `legacy-${turn}`,
        eventTimestamp: Date.UTC(2026, 0, 1, 0, turn) / 1000,
        payload: [{ blob: JSON.stringify(record) }],
      });
    }
    const fresh = new AgentCoreSessionMemory({ client, memoryId: 'mem-1' });
    const loaded = await fresh.load('legacy');
    expect(loaded?.turn).toBe(5);
    await fresh.save({ ...(loaded as NonNullable<typeof loaded>), turn: 6 });
    expect(fake.events.filter((e) => e.sessionId === 'legacy')).toHaveLength(1);
    expect((await fresh.load('legacy'))?.turn).toBe(6);
  });
});
