export { createAgentCoreInvoker } from './adapters/agentcore-agent-invoker.ts';
export { createApiGatewayMessenger } from './adapters/api-gateway-messenger.ts';
export { createDynamoConnectionStore } from './adapters/dynamodb-connection-store.ts';
export { createDynamoTurnRegistry } from './adapters/dynamodb-turn-registry.ts';
export { createHttpAgentInvoker, RUNTIME_SESSION_HEADER } from './adapters/http-agent-invoker.ts';
export { createLambdaTurnDispatcher } from './adapters/lambda-turn-dispatcher.ts';
export { createMemoryConnectionStore } from './adapters/memory-connection-store.ts';
export { createMemoryTurnRegistry } from './adapters/memory-turn-registry.ts';
export { createS3ImageStore } from './adapters/s3-image-store.ts';
export {
  type ConnectionsConfig,
  type DefaultRouteConfig,
  loadConnectionsConfig,
  loadDefaultRouteConfig,
  loadTurnWorkerConfig,
  type TurnWorkerConfig,
} from './config.ts';
export { createConnectHandler, type WebsocketRouteHandler } from './connect-handler.ts';
export { createConnectionsDeps, createDefaultDeps, createTurnWorkerDeps } from './create-aws-deps.ts';
export { createDefaultHandler, type DefaultHandlerDeps, parseClientFrame } from './default-handler.ts';
export { createDisconnectHandler } from './disconnect-handler.ts';
export {
  type LocalWebSocketHost,
  type LocalWebSocketHostOptions,
  startLocalWebSocketHost,
} from './local/start-local-websocket-host.ts';
export * from './messages.ts';
export type * from './ports.ts';
export { RealtimeError } from './realtime-error.ts';
export { runtimeSessionIdFor } from './runtime-session-id.ts';
export { TurnEvent } from './turn-event.ts';
export { createTurnWorker, type TurnWorkerDeps, type TurnWorkerHandler } from './turn-worker.ts';
