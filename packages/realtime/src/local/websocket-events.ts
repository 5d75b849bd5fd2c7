import { randomBytes, randomUUID } from 'node:crypto';
import type { APIGatewayProxyWebsocketEventV2 } from 'aws-lambda';

/** What API Gateway knows about a connection, reused in every event of that connection. */
export interface LocalConnectionInfo {
  connectionId: string;
  connectedAt: number;
  domainName: string;
  stage: string;
  apiId: string;
  sourceIp: string;
  userAgent: string;
}

/** API Gateway connection ids look like `L0SM9cOFvHcCIhw=`: base64 of 10 random bytes. */
export function newConnectionId(): string {
  return randomBytes(10).toString('base64');
}

function requestTime(epochMs: number): string {
  // API Gateway's format: 25/Nov/2026:04:26:42 +0000
  const d = new Date(epochMs);
  const month = d.toLocaleString('en-US', { month: 'short', timeZone: 'UTC' });
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${pad(d.getUTCDate())}/${month}/${d.getUTCFullYear()}:${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())} +0000`;
}

function baseContext(info: LocalConnectionInfo, now: number) {
  const requestId = randomBytes(6).toString('base64url');
  return {
    stage: info.stage,
    connectedAt: info.connectedAt,
    requestTimeEpoch: now,
    requestTime: requestTime(now),
    requestId,
    extendedRequestId: requestId,
    messageDirection: 'IN' as const,
    domainName: info.domainName,
    connectionId: info.connectionId,
    apiId: info.apiId,
    identity: { sourceIp: info.sourceIp, userAgent: info.userAgent },
  };
}

/** `$connect` as API Gateway sends it (headers and query string of the upgrade request). */
export function connectEvent(
  info: LocalConnectionInfo,
  request: { headers: Record<string, string>; query: Record<string, string> },
): APIGatewayProxyWebsocketEventV2 & Record<string, unknown> {
  const now = Date.now();
  return {
    headers: request.headers,
    multiValueHeaders: Object.fromEntries(Object.entries(request.headers).map(([k, v]) => [k, [v]])),
    ...(Object.keys(request.query).length > 0 ? { queryStringParameters: request.query } : {}),
    requestContext: {
      ...baseContext(info, now),
      routeKey: '$connect',
      eventType: 'CONNECT',
      messageId: '',
    },
    isBase64Encoded: false,
  };
}

/** `$default` for one frame; binary frames arrive base64-encoded, as on API Gateway. */
export function messageEvent(
  info: LocalConnectionInfo,
  data: Buffer,
  isBinary: boolean,
): APIGatewayProxyWebsocketEventV2 {
  const now = Date.now();
  return {
    requestContext: {
      ...baseContext(info, now),
      routeKey: '$default',
      eventType: 'MESSAGE',
      messageId: randomUUID(),
    },
    body: isBinary ? data.toString('base64') : data.toString('utf8'),
    isBase64Encoded: isBinary,
  };
}

/** `$disconnect` with the close code and reason the client (or the host) gave. */
export function disconnectEvent(
  info: LocalConnectionInfo,
  close: { code: number; reason: string },
): APIGatewayProxyWebsocketEventV2 & Record<string, unknown> {
  const now = Date.now();
  return {
    headers: { Host: info.domainName },
    requestContext: {
      ...baseContext(info, now),
      routeKey: '$disconnect',
      eventType: 'DISCONNECT',
      messageId: '',
      disconnectStatusCode: close.code,
      disconnectReason: close.reason,
    } as APIGatewayProxyWebsocketEventV2['requestContext'],
    isBase64Encoded: false,
  };
}
