import type { APIGatewayProxyWebsocketEventV2 } from 'aws-lambda';

type Context = APIGatewayProxyWebsocketEventV2['requestContext'];

/** A `$default` MESSAGE event as API Gateway delivers it to a Lambda (captured shape). */
export function buildMessageEvent(
  body: string | undefined,
  overrides: { context?: Partial<Context>; isBase64Encoded?: boolean } = {},
): APIGatewayProxyWebsocketEventV2 {
  return {
    requestContext: {
      routeKey: '$default',
      messageId: 'Vv0bKfpMIAMCKzQ=',
      eventType: 'MESSAGE',
      extendedRequestId: 'Vv0bKEkCoAMFQpA=',
      requestTime: '25/Nov/2026:05:00:00 +0000',
      messageDirection: 'IN',
      stage: 'prod',
      connectedAt: 1_795_584_000_000,
      requestTimeEpoch: 1_795_584_000_500,
      requestId: 'Vv0bKEkCoAMFQpA=',
      domainName: 'abc123.execute-api.us-east-1.amazonaws.com',
      connectionId: 'Vv0bJdQxoAMCKzQ=',
      apiId: 'abc123',
      ...overrides.context,
    },
    body,
    isBase64Encoded: overrides.isBase64Encoded ?? false,
  };
}

/** A `$connect` CONNECT event (headers omitted from the type but present on the wire). */
export function buildConnectEvent(overrides: Partial<Context> = {}): APIGatewayProxyWebsocketEventV2 {
  const event = buildMessageEvent(undefined, {
    context: { routeKey: '$connect', eventType: 'CONNECT', messageId: '', ...overrides },
  });
  return {
    ...event,
    requestContext: {
      ...event.requestContext,
      identity: { sourceIp: '203.0.113.7', userAgent: 'Mozilla/5.0' },
    } as Context,
    headers: { Host: 'abc123.execute-api.us-east-1.amazonaws.com', 'Sec-WebSocket-Version': '13' },
  } as APIGatewayProxyWebsocketEventV2;
}

export function buildDisconnectEvent(overrides: Partial<Context> = {}): APIGatewayProxyWebsocketEventV2 {
  const event = buildMessageEvent(undefined, {
    context: { routeKey: '$disconnect', eventType: 'DISCONNECT', messageId: '', ...overrides },
  });
  return {
    ...event,
    requestContext: {
      ...event.requestContext,
      disconnectStatusCode: 1001,
      disconnectReason: 'Going away',
    } as Context,
  };
}
