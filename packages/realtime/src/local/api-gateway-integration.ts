import type { APIGatewayProxyWebsocketEventV2 } from 'aws-lambda';
import type { WebsocketRouteHandler } from '../connect-handler.ts';

/**
 * API Gateway's WebSocket integration timeout: 29 s for every integration type, not adjustable.
 * https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-execution-service-websocket-limits-table.html
 */
export const INTEGRATION_TIMEOUT_MS = 29_000;

/**
 * The frame API Gateway sends the client when a route's integration fails or times out, byte for
 * byte as clients log it (note the spacing): `{"message": "Endpoint request timed out",
 * "connectionId":"…", "requestId":"…"}`.
 */
export function gatewayErrorFrame(
  message: 'Endpoint request timed out' | 'Internal server error',
  connectionId: string,
  requestId: string,
): string {
  return `{"message": ${JSON.stringify(message)}, "connectionId":${JSON.stringify(connectionId)}, "requestId":${JSON.stringify(requestId)}}`;
}

/**
 * Runs a route integration as API Gateway does: past `timeoutMs` the client gets the timeout frame
 * and whatever the handler does later is not relayed (the Lambda itself keeps running, as it does
 * in AWS); a handler that throws gets the `Internal server error` frame. Resolves when the handler
 * settles, so callers can wait for it on shutdown.
 */
export async function runIntegration(
  handler: WebsocketRouteHandler,
  event: APIGatewayProxyWebsocketEventV2,
  options: { timeoutMs: number; sendToClient: (frame: string) => void; onError?: (error: unknown) => void },
): Promise<void> {
  const { connectionId, requestId } = event.requestContext;
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    options.sendToClient(gatewayErrorFrame('Endpoint request timed out', connectionId, requestId));
  }, options.timeoutMs);
  try {
    await handler(event);
  } catch (error) {
    options.onError?.(error);
    if (!timedOut) options.sendToClient(gatewayErrorFrame('Internal server error', connectionId, requestId));
  } finally {
    clearTimeout(timer);
  }
}
