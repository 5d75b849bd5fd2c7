export {
  assertSettlerKeysAllowed,
  ConfigError,
  type FacilitatorConfig,
  FacilitatorEnv,
  loadFacilitatorConfig,
} from './config.ts';
export { createFacilitatorApp, type FacilitatorAppDeps } from './facilitator-app.ts';
export { createJsonLogger, createMemoryLogger, type Logger } from './logger.ts';
export { FACILITATOR_NETWORKS, type FacilitatorNetwork, NETWORK_INFO, type NetworkInfo } from './networks.ts';
export { isNonceError, NonceAllocator } from './nonce-allocator.ts';
export {
  type CreatePaymentFacilitatorParameters,
  createPaymentFacilitator,
  type PaymentFacilitator,
} from './payment-facilitator.ts';
export { FACILITATOR_REASONS, REQUEST_ERRORS } from './reasons.ts';
export { ReceiptPoller, ReceiptTimeoutError } from './receipt-poller.ts';
export { type FacilitatorRequest, parseFacilitatorRequest } from './request-schema.ts';
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
