import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { LocalEngine } from './local-engines.ts';

/**
 * Lambda's limit for an asynchronous (`Event`) invocation payload. The Invoke API reference now says 1 MB;
 * the stand-in keeps the older 256 KiB, so whatever passes here passes in every region and account.
 */
export const MAX_ASYNC_EVENT_BYTES = 256 * 1024;
/** Lambda refuses any Invoke request body over 6 MB (the synchronous limit) outright. */
const MAX_REQUEST_BYTES = 6 * 1024 * 1024;
const INVOKE_PATH = /^\/2015-03-31\/functions\/([^/]+)\/invocations$/;

export type LocalFunction = (event: unknown) => Promise<unknown>;

/**
 * A local stand-in for the Lambda Invoke API (`POST /2015-03-31/functions/{name}/invocations`), for
 * asynchronous invocations only: what `LambdaClient` + `InvokeCommand({ InvocationType: 'Event' })`
 * calls. Like Lambda it answers 202 at once and runs the function afterwards, refuses payloads over
 * 256 KiB (413 `RequestEntityTooLargeException`, AWS's message), payloads that are not JSON (400
 * `InvalidRequestContentException`) and unknown functions (404 `ResourceNotFoundException`). Each
 * event runs once, as with the worker's `MaximumRetryAttempts: 0`. `track` receives every run so the
 * caller can wait for them on shutdown. It demands a SigV4 header but does not verify it (loopback).
 */
export async function startLocalLambda(options: {
  functions: Record<string, LocalFunction>;
  track?: (run: Promise<unknown>) => void;
  onError?: (name: string, error: unknown) => void;
}): Promise<LocalEngine> {
  const server = createServer((req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) lambdaError(res, 500, 'ServiceException', 'Internal error');
      else res.destroy();
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const match = INVOKE_PATH.exec(new URL(req.url ?? '/', 'http://localhost').pathname);
    if (!match?.[1] || req.method !== 'POST') {
      lambdaError(res, 404, 'UnknownOperationException', 'Unknown operation');
      return;
    }
    if (!String(req.headers.authorization ?? '').startsWith('AWS4-HMAC-SHA256 ')) {
      lambdaError(res, 403, 'AccessDeniedException', 'Missing Authentication Token');
      return;
    }
    const requested = decodeURIComponent(match[1]);
    // A name, a full ARN or a partial ARN (`123456789012:function:name`) all name the function.
    const name = /(?:^|:)function:([^:]+)/.exec(requested)?.[1] ?? requested;
    const fn = options.functions[name];
    if (!fn) {
      lambdaError(res, 404, 'ResourceNotFoundException', `Function not found: ${requested}`);
      return;
    }
    const invocationType = String(req.headers['x-amz-invocation-type'] ?? 'RequestResponse');
    if (invocationType !== 'Event') {
      lambdaError(
        res,
        400,
        'InvalidParameterValueException',
        `The local Lambda stand-in runs asynchronous (Event) invocations only, not ${invocationType}`,
      );
      return;
    }
    const body = await readBody(req, MAX_REQUEST_BYTES);
    if (body === undefined || body.length > MAX_ASYNC_EVENT_BYTES) {
      const size = body?.length ?? `more than ${MAX_REQUEST_BYTES}`;
      lambdaError(
        res,
        413,
        'RequestEntityTooLargeException',
        `${size} byte payload is too large for the Event invocation type (limit ${MAX_ASYNC_EVENT_BYTES} bytes)`,
      );
      return;
    }
    let event: unknown;
    try {
      event = JSON.parse(body.length === 0 ? '{}' : body.toString('utf8'));
    } catch (error) {
      lambdaError(
        res,
        400,
        'InvalidRequestContentException',
        `Could not parse request body into json: ${String(error)}`,
      );
      return;
    }
    res.writeHead(202, { 'content-type': 'application/json', 'x-amzn-requestid': randomUUID() }).end();
    // Queued, as Lambda does: the caller has its 202 before the function starts.
    const run = new Promise<void>((resolve) => setImmediate(resolve))
      .then(() => fn(event))
      .catch((error: unknown) => options.onError?.(name, error));
    options.track?.(run);
  }

  await new Promise<void>((ok, fail) => {
    server.once('error', fail);
    server.listen(0, '127.0.0.1', () => ok());
  });
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    async stop() {
      server.closeAllConnections();
      await new Promise<void>((ok) => server.close(() => ok()));
    },
  };
}

function lambdaError(res: ServerResponse, status: number, type: string, message: string): void {
  res
    .writeHead(status, { 'content-type': 'application/json', 'x-amzn-errortype': type })
    .end(JSON.stringify({ Type: 'User', message }));
}

async function readBody(req: IncomingMessage, limit: number): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buffer = chunk as Buffer;
    size += buffer.length;
    if (size > limit) return undefined;
    chunks.push(buffer);
  }
  return Buffer.concat(chunks);
}
