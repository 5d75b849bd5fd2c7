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
 * TEST ONLY: a local stand-in for the AgentCore data plane's CreateEvent and ListEvents (REST-JSON,
 * the paths the SDK signs and calls). It pages one event at a time to exercise `nextToken`.
 */
function startFakeAgentCore() {
  const events: StoredEvent[] = [];
  const calls: string[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as Record<string, unknown>;
      const url = decodeURIComponent(req.url ?? '');
      calls.push(`${req.method} ${url}`);
      const create = /^\/memories\/([^/]+)\/events$/.exec(url);
      const list = /^\/memories\/([^/]+)\/actor\/([^/]+)\/sessions\/([^/?]+)$/.exec(url);
      if (create) {
        const event = {
          memoryId: create[1] ?? '',
          actorId: String(body.actorId),
          sessionId: String(body.sessionId),
          eventId: `e-${events.length}`,
          eventTimestamp: Number(body.eventTimestamp),
          payload: body.payload as unknown[],
        };
        events.push(event);
        res.writeHead(201, { 'content-type': 'application/json' }).end(JSON.stringify({ event }));
      } else if (list) {
        const matching = events.filter(
          (e) => e.memoryId === list[1] && e.actorId === list[2] && e.sessionId === list[3],
        );
        const start = Number(body.nextToken ?? 0);
        const page = matching.slice(start, start + 1);
        const next = start + 1 < matching.length ? { nextToken: String(start + 1) } : {};
        res
          .writeHead(200, { 'content-type': 'application/json' })
          .end(JSON.stringify({ events: page, ...next }));
      } else {
        res.writeHead(404, { 'content-type': 'application/json' }).end('{"message":"not found"}');
      }
    });
  });
  return { server, events, calls };
}

describe('AgentCoreSessionMemory against a local CreateEvent/ListEvents endpoint', () => {
  const fake = startFakeAgentCore();
  let server: Server;
  let memory: AgentCoreSessionMemory;

  beforeAll(async () => {
    server = fake.server;
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const client = new BedrockAgentCoreClient({
      region: 'us-east-1',
      endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
      credentials: { accessKeyId: 'AKIDTEST', secretAccessKey: 'test-secret' },
      requestHandler: new NodeHttpHandler(),
    });
    memory = new AgentCoreSessionMemory({ client, memoryId: 'mem-1' });
  });
  afterAll(() => new Promise((resolve) => server?.close(resolve)));

  it('appends one event per save and loads the newest snapshot of the session', async () => {
    const first = { ...emptySession('s-1', new Date('2026-01-01T00:00:00Z')), turn: 1 };
    const second = { ...first, turn: 2, spent: '40000', updated_at: '2026-01-01T00:01:00.000Z' };
    const other = { ...emptySession('s-2', new Date('2026-01-01T00:00:30Z')), turn: 7 };
    await memory.save(first);
    await memory.save(second);
    await memory.save(other);

    expect(await memory.load('s-1')).toStrictEqual(second);
    expect(await memory.load('s-2')).toStrictEqual(other);
    expect(await memory.load('s-3')).toBeUndefined();
    expect(fake.events.map((e) => [e.sessionId, e.actorId])).toStrictEqual([
      ['s-1', 'x402-image-agent'],
      ['s-1', 'x402-image-agent'],
      ['s-2', 'x402-image-agent'],
    ]);
    // s-1 has two events, paged one at a time: two ListEvents calls.
    expect(fake.calls.filter((c) => c.includes('/sessions/s-1'))).toHaveLength(2);
  });
});
