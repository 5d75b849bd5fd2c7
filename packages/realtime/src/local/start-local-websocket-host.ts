import { readFile, stat } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join, resolve, sep } from 'node:path';
import { type RawData, WebSocket, WebSocketServer } from 'ws';
import { loadDefaultRouteConfig, loadTurnWorkerConfig } from '../config.ts';
import { createConnectHandler, describe } from '../connect-handler.ts';
import { createConnectionsDeps, createDefaultDeps, createTurnWorkerDeps } from '../create-aws-deps.ts';
import { createDefaultHandler } from '../default-handler.ts';
import { createDisconnectHandler } from '../disconnect-handler.ts';
import { createJsonLogger, silentLogger } from '../logger.ts';
import { MAX_FRAME_BYTES, MAX_MESSAGE_BYTES } from '../messages.ts';
import type { Logger } from '../ports.ts';
import { createTurnWorker, type TurnWorkerHandler } from '../turn-worker.ts';
import { INTEGRATION_TIMEOUT_MS, runIntegration } from './api-gateway-integration.ts';
import { createFrameSizeGuard } from './frame-size-guard.ts';
import {
  LOCAL_CREDENTIALS,
  LOCAL_REGION,
  startLocalConnectionsTable,
  startLocalS3,
} from './local-engines.ts';
import { startLocalLambda } from './local-lambda.ts';
import {
  connectEvent,
  disconnectEvent,
  type LocalConnectionInfo,
  messageEvent,
  newConnectionId,
} from './websocket-events.ts';

const TABLE_NAME = 'connections';
const BUCKET = 'agentic-payments-images';
const TURN_WORKER_FUNCTION = 'agentic-payments-turn-worker';

export interface LocalWebSocketHostOptions {
  /** 0 picks a free port. */
  port?: number;
  host?: string;
  /** The agent's base URL; the host invokes it with POST /invocations. */
  agentUrl: string;
  /** Connections (dynalite) go to `<dataDir>/connections`, images (s3rver) to `<dataDir>/images`. */
  dataDir: string;
  /** The WebSocket URL the page should use, when it differs from the one the host listens on. */
  publicUrl?: string;
  /** A built chat page (frontend/dist) to serve at `/`, with `/config.json`. */
  staticDir?: string;
  /** Shown to the page in `/config.json` (the devnet explorer or BaseScan). */
  explorerUrl?: string;
  stage?: string;
  progressIntervalMs?: number;
  agentTimeoutMs?: number;
  /** API Gateway's integration timeout (29 s, the default); tests shorten it to see it bite. */
  integrationTimeoutMs?: number;
  imageUrlTtlSeconds?: number;
  logger?: Logger;
  /** Log JSON lines to stdout (default false: silent, for tests). */
  verbose?: boolean;
}

export interface LocalWebSocketHost {
  /** ws://host:port/<stage> */
  url: string;
  /** http://host:port: the chat page (when `staticDir` is set) and `/config.json`. */
  httpUrl: string;
  /** The management API endpoint the handlers post to (`<httpUrl>/<stage>`). */
  callbackUrl: string;
  /** The S3 endpoint images are stored in (s3rver). */
  s3Endpoint: string;
  /** The DynamoDB endpoint of the connections table (dynalite). */
  dynamoEndpoint: string;
  tableName: string;
  stop(): Promise<void>;
}

interface LiveConnection {
  info: LocalConnectionInfo;
  socket: WebSocket;
  lastActiveAt: number;
  /** Set once a frame over 32 KiB arrived: nothing more is delivered, the socket is closing (1009). */
  oversized: boolean;
}

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.txt': 'text/plain; charset=utf-8',
};

/**
 * A local stand-in for an API Gateway WebSocket API: runs the same `$connect` / `$disconnect` /
 * `$default` handlers and the turn worker with API Gateway's event shapes, wired by the same
 * `create*Deps` functions to dynalite, s3rver, a local Lambda Invoke endpoint (asynchronous
 * invocations, 256 KiB events) and this host's own `@connections` management endpoint, so the
 * handlers cannot tell they are local. It enforces API Gateway's limits: the 29 s integration
 * timeout (the client gets `{"message": "Endpoint request timed out", ...}`), 32 KiB frames and
 * 128 KiB messages inbound (close 1009), 128 KiB per PostToConnection (413), and it delivers
 * outbound messages in frames of at most 32 KiB.
 *
 * @example
 * const host = await startLocalWebSocketHost({ port: 0, agentUrl: agent.url, dataDir: '.data' });
 * const ws = new WebSocket(host.url);
 */
export async function startLocalWebSocketHost(
  options: LocalWebSocketHostOptions,
): Promise<LocalWebSocketHost> {
  const bindHost = options.host ?? '127.0.0.1';
  const stage = options.stage ?? 'local';
  const logger = options.logger ?? (options.verbose ? createJsonLogger('realtime-local') : silentLogger);
  const connections = new Map<string, LiveConnection>();
  const inFlight = new Set<Promise<unknown>>();
  const track = <T>(p: Promise<T>): Promise<T> => {
    inFlight.add(p);
    void p.finally(() => inFlight.delete(p)).catch(() => {});
    return p;
  };

  const table = await startLocalConnectionsTable({
    directory: join(options.dataDir, 'connections'),
    tableName: TABLE_NAME,
  });
  const s3 = await startLocalS3({ directory: join(options.dataDir, 'images'), bucket: BUCKET }).catch(
    async (e) => {
      await table.stop();
      throw e;
    },
  );
  // The worker is wired below, once the host's callback URL is known.
  let turnWorker: TurnWorkerHandler | undefined;
  const lambda = await startLocalLambda({
    functions: {
      [TURN_WORKER_FUNCTION]: async (event) => {
        if (!turnWorker) throw new Error('turn worker not wired yet');
        return turnWorker(event);
      },
    },
    track,
    onError: (name, error) => logger.error('local_lambda_failed', { function: name, error: describe(error) }),
  }).catch(async (e) => {
    await Promise.all([table.stop(), s3.stop()]);
    throw e;
  });

  const server = createServer((req, res) => {
    handleHttp(req, res).catch((error: unknown) => {
      logger.error('http_failed', { error: describe(error) });
      if (!res.headersSent) sendJson(res, 500, { message: 'Internal server error' });
      else res.destroy();
    });
  });
  const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_MESSAGE_BYTES });

  await new Promise<void>((ok, fail) => {
    server.once('error', fail);
    server.listen(options.port ?? 0, bindHost, () => ok());
  }).catch(async (e) => {
    await Promise.all([table.stop(), s3.stop(), lambda.stop()]);
    throw e;
  });
  const { port } = server.address() as AddressInfo;
  const domainName = `${bindHost}:${port}`;
  const httpUrl = `http://${domainName}`;
  const callbackUrl = `${httpUrl}/${stage}`;
  const url = `ws://${domainName}/${stage}`;

  // The same wiring the Lambdas use, pointed at the local engines and at this host.
  const tableEnv = {
    AWS_REGION: LOCAL_REGION,
    CONNECTIONS_TABLE: TABLE_NAME,
    DYNAMODB_ENDPOINT: table.endpoint,
    WEBSOCKET_CALLBACK_URL: callbackUrl,
  };
  const depsOptions = { credentials: LOCAL_CREDENTIALS, logger };
  const defaultConfig = loadDefaultRouteConfig({
    ...tableEnv,
    TURN_WORKER_FUNCTION: TURN_WORKER_FUNCTION,
    LAMBDA_ENDPOINT: lambda.endpoint,
  });
  const workerConfig = loadTurnWorkerConfig({
    ...tableEnv,
    IMAGES_BUCKET: BUCKET,
    S3_ENDPOINT: s3.endpoint,
    S3_FORCE_PATH_STYLE: 'true',
    AGENT_URL: options.agentUrl,
    ...(options.progressIntervalMs ? { PROGRESS_INTERVAL_MS: String(options.progressIntervalMs) } : {}),
    ...(options.agentTimeoutMs ? { AGENT_TIMEOUT_MS: String(options.agentTimeoutMs) } : {}),
    ...(options.imageUrlTtlSeconds ? { IMAGE_URL_TTL_SECONDS: String(options.imageUrlTtlSeconds) } : {}),
  });
  const connectionsDeps = createConnectionsDeps(defaultConfig, depsOptions);
  const onConnect = createConnectHandler(connectionsDeps);
  const onDisconnect = createDisconnectHandler(connectionsDeps);
  const onMessage = createDefaultHandler(createDefaultDeps(defaultConfig, depsOptions));
  turnWorker = createTurnWorker(createTurnWorkerDeps(workerConfig, depsOptions));
  const integrationTimeoutMs = options.integrationTimeoutMs ?? INTEGRATION_TIMEOUT_MS;

  let stopping = false;
  server.on('upgrade', (req, socket, head) => {
    if (stopping) {
      socket.end('HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    const path = new URL(req.url ?? '/', httpUrl).pathname.replace(/\/+$/, '');
    if (path !== '' && path !== `/${stage}`) {
      socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    const info: LocalConnectionInfo = {
      connectionId: newConnectionId(),
      connectedAt: Date.now(),
      domainName,
      stage,
      apiId: 'local',
      sourceIp: req.socket.remoteAddress ?? '127.0.0.1',
      userAgent: req.headers['user-agent'] ?? '',
    };
    const headers = Object.fromEntries(
      Object.entries(req.headers).flatMap(([k, v]) => (typeof v === 'string' ? [[k, v]] : [])),
    );
    const query = Object.fromEntries(new URL(req.url ?? '/', httpUrl).searchParams);
    track(
      (async () => {
        const result = await onConnect(connectEvent(info, { headers, query })).catch((error: unknown) => {
          logger.error('connect_handler_threw', { error: describe(error) });
          return { statusCode: 500 };
        });
        const status = result.statusCode ?? 200;
        if (status < 200 || status >= 300) {
          socket.end(
            `HTTP/1.1 ${status} Connection refused\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`,
          );
          return;
        }
        if (socket.destroyed) {
          await onDisconnect(disconnectEvent(info, { code: 1006, reason: 'Going away' })).catch(() => {});
          return;
        }
        wss.handleUpgrade(req, socket, head, (ws) => {
          const live = accept(ws, info);
          // Runs before ws's own reader sees the bytes, so an oversized frame is never delivered.
          const guard = createFrameSizeGuard(MAX_FRAME_BYTES, (bytes) => {
            live.oversized = true;
            logger.warn('frame_too_large_closed', { connectionId: info.connectionId, bytes });
            ws.close(1009, 'Message too big');
          });
          socket.prependListener('data', guard);
        });
      })(),
    );
  });

  function accept(socket: WebSocket, info: LocalConnectionInfo): LiveConnection {
    const live: LiveConnection = { info, socket, lastActiveAt: Date.now(), oversized: false };
    connections.set(info.connectionId, live);
    socket.on('message', (data: RawData, isBinary: boolean) => {
      if (live.oversized) return;
      live.lastActiveAt = Date.now();
      const buffer = Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as ArrayBuffer);
      const event = messageEvent(info, buffer, isBinary);
      track(
        runIntegration(onMessage, event, {
          timeoutMs: integrationTimeoutMs,
          sendToClient: (frame) => {
            if (socket.readyState === WebSocket.OPEN) socket.send(frame);
          },
          onError: (error) => logger.error('message_handler_threw', { error: describe(error) }),
        }),
      );
    });
    socket.on('error', (error) =>
      logger.warn('socket_error', { connectionId: info.connectionId, error: describe(error) }),
    );
    socket.on('close', (code, reason) => {
      connections.delete(info.connectionId);
      track(
        onDisconnect(disconnectEvent(info, { code, reason: reason.toString('utf8') })).catch(
          (error: unknown) => logger.error('disconnect_handler_threw', { error: describe(error) }),
        ),
      );
    });
    return live;
  }

  async function handleHttp(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const requestUrl = new URL(req.url ?? '/', httpUrl);
    const management = /^(?:\/[^/]+)?\/@connections\/([^/]+)$/.exec(requestUrl.pathname);
    if (management?.[1]) {
      await handleManagement(req, res, decodeURIComponent(management[1]));
      return;
    }
    if (requestUrl.pathname === '/config.json' && req.method === 'GET') {
      sendJson(res, 200, {
        wsUrl: options.publicUrl ?? (req.headers.host ? `ws://${req.headers.host}/${stage}` : url),
        explorerUrl: options.explorerUrl ?? null,
      });
      return;
    }
    if (options.staticDir && (req.method === 'GET' || req.method === 'HEAD')) {
      await serveStatic(options.staticDir, requestUrl.pathname, req, res);
      return;
    }
    sendJson(res, 404, { message: 'Not Found' });
  }

  /** The API Gateway Management API, as `ApiGatewayManagementApiClient` calls it. */
  async function handleManagement(
    req: IncomingMessage,
    res: ServerResponse,
    connectionId: string,
  ): Promise<void> {
    // Only loopback callers reach this host; still demand a SigV4 header like API Gateway does.
    if (!String(req.headers.authorization ?? '').startsWith('AWS4-HMAC-SHA256 ')) {
      sendError(res, 403, 'ForbiddenException', 'Missing Authentication Token');
      return;
    }
    const live = connections.get(connectionId);
    if (req.method === 'POST') {
      const body = await readBody(req, MAX_MESSAGE_BYTES);
      if (body === undefined) {
        sendError(res, 413, 'PayloadTooLargeException', 'Message too long');
        return;
      }
      if (!live || live.socket.readyState !== WebSocket.OPEN) {
        sendError(res, 410, 'GoneException', `Connection ${connectionId} is gone`);
        return;
      }
      await sendInFrames(live.socket, body);
      res.writeHead(200, { 'content-type': 'application/json' }).end();
      return;
    }
    if (!live) {
      sendError(res, 410, 'GoneException', `Connection ${connectionId} is gone`);
      return;
    }
    if (req.method === 'GET') {
      sendJson(res, 200, {
        connectedAt: new Date(live.info.connectedAt).toISOString(),
        identity: { sourceIp: live.info.sourceIp, userAgent: live.info.userAgent },
        lastActiveAt: new Date(live.lastActiveAt).toISOString(),
      });
      return;
    }
    if (req.method === 'DELETE') {
      live.socket.close(1000, 'Closed by the server');
      res.writeHead(204).end();
      return;
    }
    sendError(res, 405, 'MethodNotAllowed', 'Method not allowed');
  }

  return {
    url,
    httpUrl,
    callbackUrl,
    s3Endpoint: s3.endpoint,
    dynamoEndpoint: table.endpoint,
    tableName: TABLE_NAME,
    async stop() {
      stopping = true;
      for (const live of connections.values()) live.socket.close(1001, 'Going away');
      // Let running turns finish (bounded) so they do not write into closed engines.
      await Promise.race([
        Promise.allSettled([...inFlight]),
        new Promise((r) => setTimeout(r, 5000).unref()),
      ]);
      // Upgraded sockets still count as server connections: drop whatever did not close cleanly.
      for (const client of wss.clients) client.terminate();
      wss.close();
      server.closeAllConnections();
      await new Promise<void>((ok) => server.close(() => ok()));
      await Promise.all([table.stop(), s3.stop(), lambda.stop()]);
    },
  };
}

/**
 * Delivers one message as API Gateway does: text frames of at most 32 KiB (continuations after the
 * first). All fragments are queued in one tick, so messages sent concurrently never interleave.
 */
function sendInFrames(socket: WebSocket, body: Buffer): Promise<void> {
  return new Promise<void>((ok, fail) => {
    const count = Math.max(1, Math.ceil(body.length / MAX_FRAME_BYTES));
    for (let i = 0; i < count; i++) {
      const fragment = body.subarray(i * MAX_FRAME_BYTES, (i + 1) * MAX_FRAME_BYTES);
      const last = i === count - 1;
      socket.send(fragment, { binary: false, fin: last }, last ? (e) => (e ? fail(e) : ok()) : undefined);
    }
  });
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}

function sendError(res: ServerResponse, status: number, type: string, message: string): void {
  res
    .writeHead(status, { 'content-type': 'application/json', 'x-amzn-errortype': type })
    .end(JSON.stringify({ message }));
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

async function serveStatic(
  root: string,
  pathname: string,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const base = resolve(root);
  let decoded: string;
  try {
    decoded = decodeURIComponent(pathname);
  } catch {
    sendJson(res, 400, { message: 'Bad Request' });
    return;
  }
  let file = resolve(join(base, decoded));
  if (file !== base && !file.startsWith(base + sep)) {
    sendJson(res, 404, { message: 'Not Found' });
    return;
  }
  const info = await stat(file).catch(() => undefined);
  if (!info || info.isDirectory()) file = join(base, 'index.html'); // single-page app fallback
  const body = await readFile(file).catch(() => undefined);
  if (!body) {
    sendJson(res, 404, { message: 'Not Found' });
    return;
  }
  res.writeHead(200, {
    'content-type': CONTENT_TYPES[extname(file)] ?? 'application/octet-stream',
    'content-length': body.length,
    'cache-control': file.endsWith('index.html') ? 'no-cache' : 'public, max-age=3600',
  });
  res.end(req.method === 'HEAD' ? undefined : body);
}
