import type { APIGatewayProxyStructuredResultV2, APIGatewayProxyWebsocketEventV2 } from 'aws-lambda';
import { z } from 'zod';
import type { Clock, ConnectionStore, Logger } from './ports.ts';

export type WebsocketRouteHandler = (
  event: APIGatewayProxyWebsocketEventV2,
) => Promise<APIGatewayProxyStructuredResultV2>;

/** The requestContext fields every route relies on, checked rather than trusted. */
export const WebsocketRequestContext = z.looseObject({
  routeKey: z.string(),
  eventType: z.enum(['CONNECT', 'MESSAGE', 'DISCONNECT']),
  connectionId: z.string().min(1).max(128),
  domainName: z.string().min(1),
  stage: z.string().min(1),
  connectedAt: z.number().optional(),
  requestId: z.string().optional(),
  identity: z.looseObject({ sourceIp: z.string().optional() }).optional(),
});

const ConnectEvent = z.looseObject({
  requestContext: WebsocketRequestContext.extend({ eventType: z.literal('CONNECT') }),
});

export interface ConnectHandlerDeps {
  connections: ConnectionStore;
  clock: Clock;
  logger: Logger;
  connectionTtlSeconds: number;
}

/**
 * `$connect`: remembers the connection with a TTL; any failure refuses the connection (API Gateway
 * answers the upgrade with the status we return).
 *
 * @example export const handler = createConnectHandler(deps);
 */
export function createConnectHandler(deps: ConnectHandlerDeps): WebsocketRouteHandler {
  return async (event) => {
    const parsed = ConnectEvent.safeParse(event);
    if (!parsed.success) {
      deps.logger.warn('connect_event_invalid', { issues: parsed.error.issues.length });
      return { statusCode: 400, body: 'invalid_event' };
    }
    const ctx = parsed.data.requestContext;
    const nowMs = deps.clock.now();
    try {
      await deps.connections.put({
        connectionId: ctx.connectionId,
        connectedAt: ctx.connectedAt ?? nowMs,
        ttl: Math.floor(nowMs / 1000) + deps.connectionTtlSeconds,
        domainName: ctx.domainName,
        stage: ctx.stage,
        sourceIp: ctx.identity?.sourceIp,
      });
    } catch (error) {
      deps.logger.error('connect_store_failed', { connectionId: ctx.connectionId, error: describe(error) });
      return { statusCode: 500, body: 'internal_error' };
    }
    deps.logger.info('connected', { connectionId: ctx.connectionId });
    return { statusCode: 200, body: 'connected' };
  };
}

export function describe(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}
