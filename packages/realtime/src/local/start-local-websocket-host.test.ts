import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ApiGatewayManagementApiClient,
  DeleteConnectionCommand,
  GetConnectionCommand,
  GoneException,
  PayloadTooLargeException,
  PostToConnectionCommand,
} from '@aws-sdk/client-apigatewaymanagementapi';
import { DynamoDBClient, ScanCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { agentReply, startFakeAgent, TINY_PNG_BASE64 } from '../../test/fake-agent.ts';
import type { AgentOutput } from '../messages.ts';
import { LOCAL_CREDENTIALS } from './local-engines.ts';
import { type LocalWebSocketHost, startLocalWebSocketHost } from './start-local-websocket-host.ts';

type Frame = {
  type: string;
  code?: string;
  message?: string;
  sessionId?: string;
  response?: { output: AgentOutput };
};

/** A ws client that queues every frame so tests can await the next one of a type. */
async function connect(url: string) {
  const socket = new WebSocket(url);
  const frames: Frame[] = [];
  const waiters: (() => void)[] = [];
  socket.on('message', (data) => {
    frames.push(JSON.parse(data.toString()) as Frame);
    for (const w of waiters.splice(0)) w();
  });
  await new Promise<void>((ok, fail) => {
    socket.once('open', () => ok());
    socket.once('error', fail);
  });
  const closed = new Promise<{ code: number }>((ok) => socket.once('close', (code) => ok({ code })));
  return {
    socket,
    frames,
    closed,
    send: (value: unknown) => socket.send(typeof value === 'string' ? value : JSON.stringify(value)),
    async next(type: string, timeoutMs = 10_000): Promise<Frame> {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const index = frames.findIndex((f) => f.type === type);
        if (index >= 0) return frames.splice(index, 1)[0] as Frame;
        if (Date.now() > deadline) throw new Error(`no ${type} frame; got ${JSON.stringify(frames)}`);
        await new Promise<void>((ok) => {
          waiters.push(ok);
          setTimeout(ok, 50);
        });
      }
    },
  };
}

const prompt = (text: string, session = 'test-session') => ({ input: { prompt: text }, session_id: session });

let agent: Awaited<ReturnType<typeof startFakeAgent>>;
let host: LocalWebSocketHost;
let dataDir: string;

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'realtime-host-'));
  const staticDir = join(dataDir, 'dist');
  await mkdir(staticDir);
  await writeFile(join(staticDir, 'index.html'), '<!doctype html><title>chat</title>');
  agent = await startFakeAgent({ delayMs: 250 });
  host = await startLocalWebSocketHost({
    port: 0,
    agentUrl: agent.url,
    dataDir,
    staticDir,
    explorerUrl: 'http://127.0.0.1:4000',
    progressIntervalMs: 50,
  });
});

afterAll(async () => {
  await host?.stop();
  await agent?.stop();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

describe('startLocalWebSocketHost', () => {
  describe('a turn', () => {
    it('runs the handlers end to end and delivers the image as a working presigned S3 URL', async () => {
      const client = await connect(host.url);
      client.send(prompt('Generate an image of a futuristic city at sunset'));

      expect(await client.next('processing')).toStrictEqual({
        type: 'processing',
        sessionId: 'test-session',
      });
      expect(await client.next('progress')).toMatchObject({ type: 'progress', sessionId: 'test-session' });
      const complete = await client.next('complete');
      expect(complete.sessionId).toBe('test-session');
      const imageUrl = complete.response?.output.images?.['img-1'] ?? '';
      expect(
        imageUrl.startsWith(`${host.s3Endpoint}/agentic-payments-images/sessions/test-session/img-1.png?`),
      ).toBe(true);
      expect(imageUrl).toContain('X-Amz-Signature=');
      expect(complete.response?.output.payments?.[0]?.explorer_url).toBe(
        `http://127.0.0.1:4000/tx/0x${'ab'.repeat(32)}`,
      );

      const image = await fetch(imageUrl);
      expect(image.status).toBe(200);
      expect(image.headers.get('content-type')).toBe('image/png');
      expect(Buffer.from(await image.arrayBuffer()).toString('base64')).toBe(TINY_PNG_BASE64);

      // A tampered signature, another object under the same signature, or an added parameter: refused.
      const signature = new URL(imageUrl).searchParams.get('X-Amz-Signature') ?? '';
      const flipped = `${signature.startsWith('0') ? '1' : '0'}${signature.slice(1)}`;
      const tampered = new URL(imageUrl);
      tampered.searchParams.set('X-Amz-Signature', flipped);
      const otherKey = new URL(imageUrl.replace('/img-1.png?', '/img-2.png?'));
      const extraParam = new URL(imageUrl);
      extraParam.searchParams.set('response-content-type', 'text/html');
      for (const url of [tampered, otherKey, extraParam]) {
        const refused = await fetch(url);
        expect(refused.status).toBe(403);
        expect(await refused.text()).toContain('SignatureDoesNotMatch');
      }
      // And a URL whose validity window has passed (its signature no longer matches either).
      const expired = new URL(imageUrl);
      expired.searchParams.set('X-Amz-Date', '20200101T000000Z');
      expect((await fetch(expired)).status).toBe(403);
      client.socket.close();
      await client.closed;
    });

    it('keeps the connection in the table while open and deletes it on close', async () => {
      const before = await tableIds();
      const client = await connect(host.url);
      const added = (await tableIds()).filter((id) => !before.includes(id));
      expect(added).toHaveLength(1);
      client.socket.close();
      await client.closed;
      await waitFor(async () => !(await tableIds()).includes(added[0] as string));
    });
  });

  describe('bad frames', () => {
    it('answers each with an error code and keeps the connection and host up', async () => {
      const client = await connect(host.url);
      const cases: [unknown, string][] = [
        ['{not json', 'invalid_json'],
        [{ input: { prompt: 'hi' } }, 'invalid_message'],
        [prompt('x'.repeat(1025)), 'prompt_too_long'],
      ];
      for (const [frame, code] of cases) {
        client.send(frame);
        expect(await client.next('error')).toMatchObject({ type: 'error', code });
      }
      client.socket.send(Buffer.from([1, 2, 3]), { binary: true });
      expect(await client.next('error')).toMatchObject({ code: 'binary_not_supported' });
      // 40 KiB in frames of 20 KiB: a message API Gateway accepts, over our 32 KiB message limit.
      const big = Buffer.from(JSON.stringify(prompt('x'.repeat(40 * 1024))));
      client.socket.send(big.subarray(0, 20 * 1024), { binary: false, fin: false });
      client.socket.send(big.subarray(20 * 1024), { binary: false, fin: true });
      expect(await client.next('error')).toMatchObject({ type: 'error', code: 'frame_too_large' });

      client.send(prompt('still works?'));
      expect((await client.next('complete')).sessionId).toBe('test-session');
      client.socket.close();
      await client.closed;
    });

    it('closes a socket that sends one frame over 32 KiB (1009), before the handler sees it', async () => {
      const before = agent.invocations.length;
      const client = await connect(host.url);
      client.send(prompt('x'.repeat(33 * 1024)));
      expect((await client.closed).code).toBe(1009);
      expect(client.frames).toStrictEqual([]);
      expect(agent.invocations.length).toBe(before);
    });

    it('closes a socket that sends more than a 128 KiB message (1009) and stays up for others', async () => {
      const client = await connect(host.url);
      // In 30 KiB frames, so it is the message size that trips, not the frame size.
      const message = Buffer.alloc(129 * 1024, 0x78);
      for (let offset = 0; offset < message.length; offset += 30 * 1024) {
        const end = Math.min(offset + 30 * 1024, message.length);
        client.socket.send(message.subarray(offset, end), { binary: false, fin: end === message.length });
      }
      expect((await client.closed).code).toBe(1009);
      const other = await connect(host.url);
      other.send(prompt('hello'));
      expect((await other.next('complete')).type).toBe('complete');
      other.socket.close();
      await other.closed;
    });
  });

  describe('the same message sent again while its turn runs', () => {
    it('is refused with turn_in_progress, runs the agent once, and the session is free right after complete', async () => {
      const before = agent.invocations.length;
      const client = await connect(host.url);
      client.send(prompt('Generate an image of a red bicycle', 'repeat-session'));
      client.send(prompt('Generate an image of a red bicycle', 'repeat-session'));
      expect(await client.next('error')).toMatchObject({
        code: 'turn_in_progress',
        sessionId: 'repeat-session',
      });
      expect((await client.next('complete')).sessionId).toBe('repeat-session');
      expect(agent.invocations.length - before).toBe(1);
      // Answering `complete` at once, as a script would: the finished turn holds nothing.
      client.send(prompt('What are my wallet details?', 'repeat-session'));
      expect((await client.next('complete')).sessionId).toBe('repeat-session');
      expect(client.frames.filter((f) => f.type === 'error')).toStrictEqual([]);
      expect(agent.invocations.length - before).toBe(2);
      client.socket.close();
      await client.closed;
    });
  });

  describe("a turn longer than API Gateway's integration timeout", () => {
    it('is acknowledged at once and answered by the worker: processing, progress, complete, never the timeout frame', async () => {
      // The limit scaled down from 29 s to 2 s, the turn from 30-60 s to 4 s (margins for a loaded machine).
      const slowAgent = await startFakeAgent({ delayMs: 4_000 });
      const strict = await startLocalWebSocketHost({
        port: 0,
        agentUrl: slowAgent.url,
        dataDir: join(dataDir, 'strict'),
        progressIntervalMs: 250,
        integrationTimeoutMs: 2_000,
      });
      try {
        const client = await connect(strict.url);
        client.send(prompt('Generate an image of a slow sunrise', 'slow-session'));
        await client.next('processing');
        await client.next('progress');
        expect((await client.next('complete')).sessionId).toBe('slow-session');
        await new Promise((r) => setTimeout(r, 2_100)); // past the integration timeout of the last message
        expect(client.frames.filter((f) => f.type !== 'progress')).toStrictEqual([]);
        expect(JSON.stringify(client.frames)).not.toContain('Endpoint request timed out');
        expect(slowAgent.invocations).toHaveLength(1);
        client.socket.close();
        await client.closed;
      } finally {
        await strict.stop();
        await slowAgent.stop();
      }
    });
  });

  describe('an answer larger than one WebSocket message (128 KiB)', () => {
    it('is never sent; the client gets response_too_large', async () => {
      const wordyAgent = await startFakeAgent({
        reply: () =>
          agentReply({ message: { role: 'assistant', content: [{ text: 'z'.repeat(130 * 1024) }] } }),
      });
      const other = await startLocalWebSocketHost({
        port: 0,
        agentUrl: wordyAgent.url,
        dataDir: join(dataDir, 'wordy'),
      });
      try {
        const client = await connect(other.url);
        client.send(prompt('Tell me everything', 'wordy-session'));
        expect(await client.next('error')).toMatchObject({
          code: 'response_too_large',
          sessionId: 'wordy-session',
        });
        expect(client.frames.filter((f) => f.type === 'complete')).toStrictEqual([]);
        client.socket.close();
        await client.closed;
      } finally {
        await other.stop();
        await wordyAgent.stop();
      }
    });
  });

  describe('a disconnect in the middle of a turn', () => {
    it('completes the turn once without re-invoking the agent, and the host keeps serving', async () => {
      const before = agent.invocations.length;
      const client = await connect(host.url);
      client.send(prompt('Generate an image of a lighthouse', 'drop-session'));
      await client.next('processing');
      client.socket.terminate();
      await client.closed;

      await waitFor(async () => agent.completed() === agent.invocations.length);
      // The worker still stores the image and frees the session after the agent answered.
      await waitFor(async () => (await turnRecords()).length === 0);
      expect(agent.invocations.length - before).toBe(1);

      const again = await connect(host.url);
      again.send(prompt('What are my wallet details?', 'drop-session'));
      expect((await again.next('complete')).sessionId).toBe('drop-session');
      expect(agent.invocations.length - before).toBe(2);
      again.socket.close();
      await again.closed;
    });
  });

  describe('the @connections management endpoint', () => {
    it('serves PostToConnection, GetConnection and DeleteConnection to the SDK client', async () => {
      // The connection id is only known server-side; find it through the table.
      const before = await tableIds();
      const client = await connect(host.url);
      const management = new ApiGatewayManagementApiClient({
        endpoint: host.callbackUrl,
        region: 'us-east-1',
        credentials: LOCAL_CREDENTIALS,
      });
      client.send('{');
      await client.next('error');
      const added = (await tableIds()).filter((id) => !before.includes(id));
      expect(added).toHaveLength(1);
      const connectionId = added[0] as string;

      await management.send(
        new PostToConnectionCommand({
          ConnectionId: connectionId,
          Data: new TextEncoder().encode('{"type":"hello"}'),
        }),
      );
      expect(await client.next('hello')).toStrictEqual({ type: 'hello' });
      // Up to 128 KiB per message, delivered in frames of at most 32 KiB; more is refused with 413.
      const large = JSON.stringify({ type: 'large', pad: 'p'.repeat(100 * 1024) });
      await management.send(
        new PostToConnectionCommand({ ConnectionId: connectionId, Data: new TextEncoder().encode(large) }),
      );
      expect(JSON.stringify(await client.next('large'))).toBe(large);
      await expect(
        management.send(
          new PostToConnectionCommand({
            ConnectionId: connectionId,
            Data: new TextEncoder().encode(JSON.stringify({ type: 'huge', pad: 'p'.repeat(128 * 1024) })),
          }),
        ),
      ).rejects.toBeInstanceOf(PayloadTooLargeException);

      const info = await management.send(new GetConnectionCommand({ ConnectionId: connectionId }));
      expect(info.Identity?.SourceIp).toBe('127.0.0.1');
      expect(info.ConnectedAt).toBeInstanceOf(Date);

      await management.send(new DeleteConnectionCommand({ ConnectionId: connectionId }));
      expect((await client.closed).code).toBe(1000);

      await expect(
        management.send(
          new PostToConnectionCommand({ ConnectionId: connectionId, Data: new Uint8Array([123, 125]) }),
        ),
      ).rejects.toBeInstanceOf(GoneException);
      management.destroy();
    });

    it('refuses unsigned calls', async () => {
      const response = await fetch(`${host.callbackUrl}/@connections/abc`, { method: 'POST', body: '{}' });
      expect(response.status).toBe(403);
    });
  });

  describe('the chat page', () => {
    it('serves the built page and /config.json with the WebSocket and explorer URLs', async () => {
      const page = await fetch(`${host.httpUrl}/`);
      expect(page.status).toBe(200);
      expect(await page.text()).toContain('<title>chat</title>');
      const config = await (await fetch(`${host.httpUrl}/config.json`)).json();
      expect(config).toStrictEqual({ wsUrl: host.url, explorerUrl: 'http://127.0.0.1:4000' });
      const traversal = await fetch(`${host.httpUrl}/%2e%2e/%2e%2e/etc/passwd`);
      expect(await traversal.text()).not.toContain('root:');
      expect((await fetch(`${host.httpUrl}/%E0%A4%A`)).status).toBe(400);
    });
  });

  it('stops promptly with a turn in flight and a client that reconnects at once', async () => {
    const other = await startLocalWebSocketHost({
      port: 0,
      agentUrl: agent.url,
      dataDir: join(dataDir, 'stop'),
    });
    const client = await connect(other.url);
    client.send(prompt('a slow turn'));
    await client.next('processing');
    // Like the chat page: reconnect as soon as the socket closes. Stop must refuse it, not wait on it.
    const reconnected = new Promise<string>((settle) => {
      client.socket.once('close', (code) => {
        connect(other.url).then(
          (again) => {
            again.socket.terminate();
            settle(`accepted after ${code}`);
          },
          () => settle(`refused after ${code}`),
        );
      });
    });
    const started = Date.now();
    await other.stop();
    expect(Date.now() - started).toBeLessThan(3_000);
    expect(await reconnected).toBe('refused after 1001');
  });

  it('restarts on the same data directory', async () => {
    const second = await startLocalWebSocketHost({
      port: 0,
      agentUrl: agent.url,
      dataDir: join(dataDir, 'second'),
    });
    await second.stop();
    const third = await startLocalWebSocketHost({
      port: 0,
      agentUrl: agent.url,
      dataDir: join(dataDir, 'second'),
    });
    const client = await connect(third.url);
    client.send(prompt('hello'));
    expect((await client.next('complete')).type).toBe('complete');
    client.socket.close();
    await client.closed;
    await third.stop();
  });
});

async function tableIds(): Promise<string[]> {
  return (await tableKeys()).filter((id) => !id.startsWith('turn#'));
}

async function turnRecords(): Promise<string[]> {
  return (await tableKeys()).filter((id) => id.startsWith('turn#'));
}

async function tableKeys(): Promise<string[]> {
  const dynamo = new DynamoDBClient({
    endpoint: host.dynamoEndpoint,
    region: 'us-east-1',
    credentials: LOCAL_CREDENTIALS,
  });
  try {
    const items =
      (await dynamo.send(new ScanCommand({ TableName: host.tableName, ConsistentRead: true }))).Items ?? [];
    return items.map((i) => i.connectionId?.S).filter((id): id is string => !!id);
  } finally {
    dynamo.destroy();
  }
}

async function waitFor(check: () => Promise<boolean>, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 25));
  }
}
