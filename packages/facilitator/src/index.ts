export {
  type BatchSettlementHandlers,
  createBatchSettlementHandlers,
  type SettleAuth,
} from './batch-settlement-facilitator.ts';
export {
  BatchSettlementPayload,
  BatchSettlementRequestBody,
  BatchSettlementRequirements,
} from './batch-settlement-schema.ts';
export { createBatchSettlementSigner } from './batch-settlement-signer.ts';
export {
  assertSettlerKeysAllowed,
  type BatchSettlementConfig,
  ConfigError,
  DEVNET_RECEIVER_AUTHORIZER_INDEX,
  type FacilitatorConfig,
  FacilitatorEnv,
  loadFacilitatorConfig,
} from './config.ts';
export { createFacilitatorApp, type FacilitatorAppDeps } from './facilitator-app.ts';
export { createJsonLogger, createMemoryLogger, type Logger } from './logger.ts';
export { FACILITATOR_NETWORKS, type FacilitatorNetwork, NETWORK_INFO, type NetworkInfo } from './networks.ts';
export { isNonceError, NonceAllocator } from './nonce-allocator.ts';
export {
  type BatchSettlementParameters,
  type CreatePaymentFacilitatorParameters,
  createPaymentFacilitator,
  type PaymentFacilitator,
} from './payment-facilitator.ts';
export { BATCH_SETTLEMENT_REASONS, FACILITATOR_REASONS, REQUEST_ERRORS } from './reasons.ts';
export { ReceiptPoller, ReceiptTimeoutError } from './receipt-poller.ts';
export {
  type BatchSettlementFacilitatorRequest,
  type ExactFacilitatorRequest,
  type FacilitatorRequest,
  parseFacilitatorRequest,
} from './request-schema.ts';
export {
  createSettlerSigner,
  type SettlerSigner,
  type SettlerSignerOptions,
  type SettlerStats,
} from './settler-signer.ts';
export {
  type RunningFacilitator,
  type StartFacilitatorOptions,
  startFacilitator,
} from './start-facilitator.ts';
