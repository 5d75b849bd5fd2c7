import {
  ApiGatewayManagementApiClient,
  type ApiGatewayManagementApiClientConfig,
  GoneException,
  PostToConnectionCommand,
} from '@aws-sdk/client-apigatewaymanagementapi';
import { encodeServerMessage } from '../messages.ts';
import type { ClientMessenger, MessageTarget } from '../ports.ts';

/**
 * Sends frames with the API Gateway Management API (`POST @connections/{id}`). The endpoint is
 * `https://<domainName>/<stage>` from the event, or a fixed callback URL (the local host). A frame
 * over 128 KiB is never sent: it throws `response_too_large` (PostToConnection would refuse it).
 */
export function createApiGatewayMessenger(options: {
  callbackUrl?: string | undefined;
  clientConfig?: Omit<ApiGatewayManagementApiClientConfig, 'endpoint'>;
}): ClientMessenger {
  const clients = new Map<string, ApiGatewayManagementApiClient>();
  const clientFor = (target: MessageTarget) => {
    const endpoint = options.callbackUrl ?? `https://${target.domainName}/${target.stage}`;
    let client = clients.get(endpoint);
    if (!client) {
      client = new ApiGatewayManagementApiClient({ ...options.clientConfig, endpoint });
      clients.set(endpoint, client);
    }
    return client;
  };
  return {
    async send(target, message) {
      const data = encodeServerMessage(message);
      try {
        await clientFor(target).send(
          new PostToConnectionCommand({ ConnectionId: target.connectionId, Data: data }),
        );
        return true;
      } catch (error) {
        if (error instanceof GoneException) return false;
        throw error;
      }
    },
  };
}
