import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { EventStreamCodec } from '@smithy/core/event-streams';
import type { AwsCall, CallSink } from './aws-calls.ts';

/**
 * TEST STAND-INS (not AWS): the HTTP routes of AWS APIs that have no local engine, speaking their
 * real wire format so the real SDK clients and the adapters' real code run end to end. Each answers
 * only what the contract's drives call; anything else is a 404 that fails the drive.
 */
export interface LocalFake {
  readonly url: string;
  stop(): Promise<void>;
}

type Route = (req: IncomingMessage, body: string, res: ServerResponse) => boolean;

async function serve(route: Route): Promise<LocalFake> {
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      if (!route(req, Buffer.concat(chunks).toString('utf8'), res)) {
        res.writeHead(404, { 'content-type': 'application/json' }).end('{"message":"no such route"}');
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

const json = (res: ServerResponse, status: number, body: unknown) =>
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));

/**
 * AgentCore data plane: InvokeAgentRuntime (POST /runtimes/{arn}/invocations) answering `reply`,
 * CreateEvent (POST /memories/{id}/events) and ListEvents (POST /memories/{id}/actor/{a}/sessions/{s}).
 */
export function startFakeAgentCore(reply: () => unknown): Promise<LocalFake> {
  const events: Record<string, unknown>[] = [];
  let created = 0;
  return serve((req, body, res) => {
    const path = decodeURIComponent((req.url ?? '').split('?')[0] ?? '');
    if (/^\/runtimes\/.+\/invocations$/.test(path)) {
      json(res, 200, reply());
      return true;
    }
    const create = /^\/memories\/([^/]+)\/events$/.exec(path);
    if (create) {
      const input = JSON.parse(body) as Record<string, unknown>;
      const event = { ...input, memoryId: create[1], eventId: `e-${++created}` };
      events.push(event);
      json(res, 201, { event });
      return true;
    }
    const remove = /^\/memories\/([^/]+)\/actor\/([^/]+)\/sessions\/([^/]+)\/events\/([^/]+)$/.exec(path);
    if (remove && req.method === 'DELETE') {
      const at = events.findIndex((e) => e.memoryId === remove[1] && e.eventId === remove[4]);
      if (at < 0) {
        json(res, 404, { message: 'Event not found' });
      } else {
        events.splice(at, 1);
        json(res, 200, { eventId: remove[4] });
      }
      return true;
    }
    const list = /^\/memories\/([^/]+)\/actor\/([^/]+)\/sessions\/([^/]+)$/.exec(path);
    if (list) {
      json(res, 200, {
        events: events.filter(
          (e) => e.memoryId === list[1] && e.actorId === list[2] && e.sessionId === list[3],
        ),
      });
      return true;
    }
    return false;
  });
}

/** API Gateway Management API: POST /{stage}/@connections/{id}; ids starting with `gone-` answer 410. */
export function startFakeManagementApi(): Promise<LocalFake> {
  return serve((req, _body, res) => {
    const match = /^\/[^/]+\/@connections\/([^/]+)$/.exec(decodeURIComponent(req.url ?? ''));
    if (req.method !== 'POST' || !match) return false;
    if (match[1]?.startsWith('gone-')) json(res, 410, { message: 'Gone' });
    else res.writeHead(200).end();
    return true;
  });
}

const codec = new EventStreamCodec(
  (bytes) => Buffer.from(bytes).toString('utf8'),
  (text) => new Uint8Array(Buffer.from(text, 'utf8')),
);
const frame = (eventType: string, payload: unknown) =>
  codec.encode({
    headers: {
      ':event-type': { type: 'string', value: eventType },
      ':content-type': { type: 'string', value: 'application/json' },
      ':message-type': { type: 'string', value: 'event' },
    },
    body: new Uint8Array(Buffer.from(JSON.stringify(payload), 'utf8')),
  });

/** Bedrock ConverseStream (POST /model/{id}/converse-stream): a one-sentence text reply. */
export function startFakeConverseStream(): Promise<LocalFake> {
  return serve((req, _body, res) => {
    if (!/^\/model\/[^/]+\/converse-stream$/.test(req.url ?? '')) return false;
    res.writeHead(200, { 'content-type': 'application/vnd.amazon.eventstream' });
    for (const event of [
      frame('messageStart', { role: 'assistant' }),
      frame('contentBlockDelta', { contentBlockIndex: 0, delta: { text: 'Hello from the stand-in.' } }),
      frame('contentBlockStop', { contentBlockIndex: 0 }),
      frame('messageStop', { stopReason: 'end_turn' }),
      frame('metadata', {
        usage: { inputTokens: 1, outputTokens: 1, totalTokens: 2 },
        metrics: { latencyMs: 1 },
      }),
    ]) {
      res.write(event);
    }
    res.end();
    return true;
  });
}

/**
 * Secrets Manager (awsJson1_1, `X-Amz-Target: secretsmanager.<Operation>`), for clients an adapter
 * builds itself: the call is recorded here, on arrival, and GetSecretValue answers `secretString`.
 */
export function startFakeSecretsManager(options: {
  readonly region: string;
  readonly secretString: string;
  readonly sink: CallSink;
}): Promise<LocalFake> {
  return serve((req, body, res) => {
    const target = String(req.headers['x-amz-target'] ?? '');
    const operation = /^secretsmanager\.(\w+)$/.exec(target)?.[1];
    if (!operation) return false;
    const input = JSON.parse(body || '{}') as Record<string, unknown>;
    const call: AwsCall = {
      client: 'SecretsManagerClient',
      operation,
      input,
      region: options.region,
      hostname: String(req.headers.host ?? ''),
      path: req.url ?? '/',
    };
    options.sink(call);
    if (operation !== 'GetSecretValue') return false;
    res
      .writeHead(200, { 'content-type': 'application/x-amz-json-1.1' })
      .end(JSON.stringify({ ARN: input.SecretId, Name: 'stand-in', SecretString: options.secretString }));
    return true;
  });
}
