import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { BedrockRuntimeClient } from '@aws-sdk/client-bedrock-runtime';
import { NodeHttpHandler } from '@smithy/node-http-handler';

/**
 * A local stand-in for the Bedrock Runtime HTTP API (restJson1), for tests only: it speaks the
 * real wire format of `InvokeModel` (POST /model/{modelId}/invoke) and `Converse`
 * (POST /model/{modelId}/converse), including AWS error replies (`x-amzn-ErrorType` header and a
 * `{ "message" }` body), so the real AWS SDK client can be exercised end to end.
 */
export interface RecordedRequest {
  operation: 'invoke' | 'converse';
  modelId: string;
  headers: IncomingHttpHeaders;
  body: unknown;
}

export interface FakeReply {
  status: number;
  headers?: Record<string, string>;
  body: string | Uint8Array;
  /** Wait this long before answering (to exercise timeouts). */
  delayMs?: number;
}

export type FakeHandler = (req: RecordedRequest) => FakeReply;

export function jsonReply(body: unknown, status = 200): FakeReply {
  return { status, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) };
}

/** An AWS JSON error as Bedrock sends it, e.g. `awsError(429, 'ThrottlingException', 'Too many requests')`. */
export function awsError(status: number, type: string, message: string): FakeReply {
  return {
    status,
    headers: {
      'content-type': 'application/json',
      'x-amzn-errortype': `${type}:http://internal.amazon.com/coral/com.amazon.bedrock/`,
      'x-amzn-requestid': '00000000-0000-4000-8000-000000000000',
    },
    body: JSON.stringify({ message }),
  };
}

export interface FakeBedrock {
  url: string;
  requests: RecordedRequest[];
  /** Replies in order; when only one is left it answers every further request. */
  reply(...handlers: FakeHandler[]): void;
  /** A real SDK client pointed at this server: HTTP/1.1 handler, dummy credentials, one attempt. */
  client(options?: { maxAttempts?: number }): BedrockRuntimeClient;
  stop(): Promise<void>;
}

export async function startFakeBedrock(): Promise<FakeBedrock> {
  const requests: RecordedRequest[] = [];
  let handlers: FakeHandler[] = [() => awsError(500, 'InternalServerException', 'no reply configured')];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const match = /^\/model\/([^/]+)\/(invoke|converse)$/.exec(req.url ?? '');
      if (req.method !== 'POST' || match === null) {
        const reply = awsError(404, 'UnknownOperationException', `no route for ${req.method} ${req.url}`);
        res.writeHead(reply.status, reply.headers).end(reply.body);
        return;
      }
      const text = Buffer.concat(chunks).toString('utf8');
      let body: unknown = text;
      try {
        body = JSON.parse(text);
      } catch {}
      const recorded: RecordedRequest = {
        operation: match[2] as 'invoke' | 'converse',
        modelId: decodeURIComponent(match[1] as string),
        headers: req.headers,
        body,
      };
      requests.push(recorded);
      const handler = (handlers.length > 1 ? handlers.shift() : handlers[0]) as FakeHandler;
      const reply = handler(recorded);
      const send = () => {
        if (!res.writableEnded && !res.destroyed) res.writeHead(reply.status, reply.headers).end(reply.body);
      };
      if (reply.delayMs === undefined) send();
      else setTimeout(send, reply.delayMs).unref();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const url = `http://127.0.0.1:${port}`;
  return {
    url,
    requests,
    reply(...next) {
      handlers = next;
    },
    client(options = {}) {
      return new BedrockRuntimeClient({
        region: 'us-east-1',
        endpoint: url,
        credentials: { accessKeyId: 'AKIDLOCALTEST', secretAccessKey: 'local-test-secret' },
        requestHandler: new NodeHttpHandler(),
        maxAttempts: options.maxAttempts ?? 1,
      });
    },
    stop: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((err) => (err ? reject(err) : resolve()));
      }),
  };
}
