export { type ChainReader, createViemChainReader } from './chain-reader.ts';
export { type GatewayConfig, GatewayEnvSchema, loadGatewayConfig } from './config.ts';
export { type AppConfig, createApp, type GatewayDeps, GenerateImageBodySchema } from './create-app.ts';
export { createDynamoDbPaymentStore, ensurePaymentTable } from './dynamodb-payment-store.ts';
export {
  CDP_FACILITATOR_URL,
  createHttpFacilitatorClient,
  type FacilitatorClient,
  type FacilitatorKind,
  type FacilitatorRequest,
  X402_ORG_FACILITATOR_URL,
} from './facilitator-client.ts';
export { IMAGE_ID_PATTERN, type ImageStore, type StoredImage } from './image-store.ts';
export { type LocalDynamo, startLocalDynamo } from './local-dynamo.ts';
export { createLocalImageStore, type LocalImageStore } from './local-image-store.ts';
export { createJsonLogger, createMemoryLogger, type Logger } from './logger.ts';
export { createMemoryPaymentStore } from './memory-payment-store.ts';
export * from './payment-store.ts';
export { GATEWAY_ERRORS, type GatewayErrorCode } from './reasons.ts';
export { createS3ImageStore } from './s3-image-store.ts';
export { type RunningGateway, type StartGatewayOptions, startGateway } from './start-gateway.ts';
