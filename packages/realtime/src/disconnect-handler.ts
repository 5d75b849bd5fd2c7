import { z } from 'zod';
import { describe, WebsocketRequestContext, type WebsocketRouteHandler } from './connect-handler.ts';
import type { ConnectionStore, Logger } from './ports.ts';

const DisconnectEvent = z.looseObject({
  requestContext: WebsocketRequestContext.extend({
    eventType: z.literal('DISCONNECT'),
    disconnectStatusCode: z.number().optional(),
    disconnectReason: z.string().optional(),
  }),
});

export interface DisconnectHandlerDeps {
  connections: ConnectionStore;
  logger: Logger;
}

/**
 * `$disconnect`: forgets the connection. API Gateway delivers it best-effort, which is why records
 * also carry a TTL.
 *
 * @example export const handler = createDisconnectHandler(deps);
 */
export function createDisconnectHandler(deps: DisconnectHandlerDeps): WebsocketRouteHandler {
  return async (event) => {
    const parsed = DisconnectEvent.safeParse(event);
    if (!parsed.success) {
      deps.logger.warn('disconnect_event_invalid', { issues: parsed.error.issues.length });
      return { statusCode: 400, body: 'invalid_event' };
    }
    const ctx = parsed.data.requestContext;
    try {
      await deps.connections.delete(ctx.connectionId);
    } catch (error) {
      deps.logger.error('disconnect_store_failed', {
        connectionId: ctx.connectionId,
        error: describe(error),
      });
      return { statusCode: 500, body: 'internal_error' };
    }
    deps.logger.info('disconnected', {
      connectionId: ctx.connectionId,
      statusCode: ctx.disconnectStatusCode,
      reason: ctx.disconnectReason,
    });
    return { statusCode: 200, body: 'disconnected' };
  };
}
