import { EventEmitter } from 'node:events';
import { mkdirSync } from 'node:fs';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import dynalite from 'dynalite';

/** The AWS SDK's request-handler contract (what `DynamoDBClient({ requestHandler })` takes). */
export interface SdkRequestHandler {
  readonly metadata: { readonly handlerProtocol: string };
  handle(request: {
    method: string;
    path: string;
    query?: Record<string, string | string[] | null>;
    headers: Record<string, string>;
    body?: unknown;
  }): Promise<{ response: { statusCode: number; headers: Record<string, string>; body: Uint8Array } }>;
  updateHttpClientConfig(): void;
  httpHandlerConfigs(): Record<string, never>;
  destroy(): void;
}

export interface LocalDynamo {
  /** `http://127.0.0.1:<port>`, for `DynamoDBClient({ endpoint })` in other processes. */
  readonly endpoint: string;
  /**
   * Hands the SDK's requests straight to the engine in this process: the same DynamoDB JSON
   * protocol, without a TCP round trip (each one cost this gateway several socket writes and
   * wakeups per store operation).
   */
  readonly requestHandler: SdkRequestHandler;
  stop(): Promise<void>;
}

type Listener = (req: IncomingMessage, res: ServerResponse) => void;

/**
 * The embedded DynamoDB stand-in: dynalite (an implementation of the DynamoDB API on LevelDB) kept
 * under `<dataDir>/payments`, so reservations survive a restart. The owning process talks to it
 * in-process (`requestHandler`); other gateway instances share it through `endpoint`. One process
 * owns the LevelDB directory.
 *
 * @example
 * const dynamo = await startLocalDynamo({ dataDir: '.data', port: 0 });
 * const client = new DynamoDBClient({ endpoint: dynamo.endpoint, requestHandler: dynamo.requestHandler });
 */
export async function startLocalDynamo(options: {
  readonly dataDir?: string;
  readonly port?: number;
  readonly host?: string;
}): Promise<LocalDynamo> {
  let path: string | undefined;
  if (options.dataDir !== undefined) {
    path = join(options.dataDir, 'payments');
    mkdirSync(path, { recursive: true });
  }
  const server: Server = dynalite({ path, createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const [listener] = server.listeners('request') as Listener[];
  if (listener === undefined) throw new Error('dynalite: no request handler on its server');
  const requestHandler = withConditionFailureItems(inProcessHandler(listener));
  // The endpoint answers through the same handler, so other processes see ALL_OLD items too.
  server.removeAllListeners('request');
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const headers: Record<string, string> = {};
      for (const [name, value] of Object.entries(req.headers)) {
        if (typeof value === 'string') headers[name] = value;
      }
      requestHandler
        .handle({
          method: req.method ?? 'POST',
          path: req.url ?? '/',
          headers,
          body: new Uint8Array(Buffer.concat(chunks)),
        })
        .then(({ response }) => {
          const body = Buffer.from(response.body);
          res.writeHead(response.statusCode, {
            ...response.headers,
            'content-length': String(body.byteLength),
          });
          res.end(body);
        })
        .catch(() => {
          res.writeHead(500);
          res.end();
        });
    });
  });
  return {
    endpoint: `http://${host}:${port}`,
    requestHandler,
    stop: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error?: Error) => (error ? reject(error) : resolve()));
      }),
  };
}

type SdkRequest = Parameters<SdkRequestHandler['handle']>[0];
type SdkResponse = Awaited<ReturnType<SdkRequestHandler['handle']>>['response'];

/**
 * dynalite 4 predates `ReturnValuesOnConditionCheckFailure` (architect/dynalite#182): it ignores the
 * option and answers a failed condition without the item. DynamoDB returns it in the error body
 * (`Item`), and the payment store relies on that, so the stand-in does too: on such a failure of a
 * PutItem / DeleteItem / UpdateItem that asked for `ALL_OLD`, the item is read and added to the body.
 */
function withConditionFailureItems(handler: SdkRequestHandler): SdkRequestHandler {
  const decoder = new TextDecoder();
  const keyNames = new Map<string, string[]>();
  const call = async (
    request: SdkRequest,
    target: string,
    body: unknown,
  ): Promise<Record<string, unknown>> => {
    const text = JSON.stringify(body);
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(request.headers)) {
      if (name.toLowerCase() !== 'x-amz-target' && name.toLowerCase() !== 'content-length')
        headers[name] = value;
    }
    const { response } = await handler.handle({
      ...request,
      headers: {
        ...headers,
        'x-amz-target': `DynamoDB_20120810.${target}`,
        'content-length': String(Buffer.byteLength(text)),
      },
      body: text,
    });
    return JSON.parse(decoder.decode(response.body)) as Record<string, unknown>;
  };
  const keyOf = async (request: SdkRequest, params: Record<string, unknown>) => {
    if (params.Key !== undefined) return params.Key as Record<string, unknown>;
    const table = String(params.TableName);
    let names = keyNames.get(table);
    if (names === undefined) {
      const described = (await call(request, 'DescribeTable', { TableName: table })) as {
        Table?: { KeySchema?: Array<{ AttributeName: string }> };
      };
      names = (described.Table?.KeySchema ?? []).map((k) => k.AttributeName);
      keyNames.set(table, names);
    }
    const item = (params.Item ?? {}) as Record<string, unknown>;
    return Object.fromEntries(names.map((name) => [name, item[name]]));
  };
  return {
    ...handler,
    async handle(request) {
      const targetHeader = Object.entries(request.headers).find(
        ([name]) => name.toLowerCase() === 'x-amz-target',
      );
      const target = targetHeader?.[1].split('.')[1];
      const result = await handler.handle(request);
      if (
        result.response.statusCode !== 400 ||
        (target !== 'PutItem' && target !== 'DeleteItem' && target !== 'UpdateItem')
      ) {
        return result;
      }
      const text =
        typeof request.body === 'string'
          ? request.body
          : request.body instanceof Uint8Array
            ? decoder.decode(request.body)
            : '{}';
      const params = JSON.parse(text) as Record<string, unknown>;
      if (params.ReturnValuesOnConditionCheckFailure !== 'ALL_OLD') return result;
      const error = JSON.parse(decoder.decode(result.response.body)) as Record<string, unknown>;
      if (!String(error.__type ?? '').endsWith('ConditionalCheckFailedException')) return result;
      const read = await call(request, 'GetItem', {
        TableName: params.TableName,
        Key: await keyOf(request, params),
        ConsistentRead: true,
      });
      // The body changes: drop the length and checksum computed for the old one.
      const { 'content-length': _length, 'x-amz-crc32': _crc, ...headers } = result.response.headers;
      const response: SdkResponse = {
        ...result.response,
        headers,
        body: new TextEncoder().encode(
          JSON.stringify(read.Item === undefined ? error : { ...error, Item: read.Item }),
        ),
      };
      return { response };
    },
  };
}

/**
 * Calls an HTTP request listener in-process with the few members dynalite reads: a request that
 * emits its body, and a response that collects status, headers and body.
 */
function inProcessHandler(listener: Listener): SdkRequestHandler {
  return {
    metadata: { handlerProtocol: 'http/1.1' },
    updateHttpClientConfig: () => {},
    httpHandlerConfigs: () => ({}),
    destroy: () => {},
    handle: (request) =>
      new Promise((resolve, reject) => {
        const query = new URLSearchParams();
        for (const [key, value] of Object.entries(request.query ?? {})) {
          for (const v of Array.isArray(value) ? value : [value ?? '']) query.append(key, v);
        }
        const headers: Record<string, string> = {};
        for (const [key, value] of Object.entries(request.headers)) headers[key.toLowerCase()] = value;
        const req = Object.assign(new EventEmitter(), {
          method: request.method,
          url: `${request.path}${query.size > 0 ? `?${query}` : ''}`,
          headers,
        });
        const responseHeaders: Record<string, string> = {};
        const res = {
          statusCode: 200,
          setHeader(name: string, value: string | number) {
            responseHeaders[name.toLowerCase()] = String(value);
          },
          end(body?: string) {
            resolve({
              response: {
                statusCode: res.statusCode,
                headers: responseHeaders,
                body: new Uint8Array(Buffer.from(body ?? '', 'utf8')),
              },
            });
          },
        };
        try {
          listener(req as unknown as IncomingMessage, res as unknown as ServerResponse);
        } catch (error) {
          reject(error);
          return;
        }
        const body = request.body;
        queueMicrotask(() => {
          // A view on the bytes: Buffer.from(uint8Array) would call the SDK body's valueOf().
          if (body instanceof Uint8Array) {
            if (body.byteLength > 0)
              req.emit('data', Buffer.from(body.buffer, body.byteOffset, body.byteLength));
          } else if (typeof body === 'string' && body !== '') req.emit('data', Buffer.from(body, 'utf8'));
          req.emit('end');
        });
      }),
  };
}
