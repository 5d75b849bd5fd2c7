/**
 * Stable reason codes the gateway answers with (`{ "error": code, "message": text }`). They are part
 * of the wire contract: never rename one. Facilitator reasons (e.g. `invalid_exact_evm_signature`,
 * `authorization_already_used`) are passed through unchanged on a 402.
 */
export const GATEWAY_ERRORS = {
  // 400: the request itself
  invalidJson: 'invalid_json',
  invalidRequest: 'invalid_request',
  payloadTooLarge: 'payload_too_large',
  // 402: no or unusable payment
  paymentRequired: 'payment_required',
  unsupportedScheme: 'unsupported_scheme',
  networkMismatch: 'network_mismatch',
  chainMismatch: 'chain_mismatch',
  assetMismatch: 'asset_mismatch',
  payToMismatch: 'pay_to_mismatch',
  insufficientPayment: 'insufficient_payment',
  amountMismatch: 'amount_mismatch',
  authorizationExpired: 'authorization_expired',
  authorizationNotYetValid: 'authorization_not_yet_valid',
  authorizationWindowTooLong: 'authorization_window_too_long',
  paymentInvalid: 'payment_invalid',
  settlementFailed: 'settlement_failed',
  // 409: the authorization is (being) used
  authorizationReused: 'authorization_reused',
  paymentInProgress: 'payment_in_progress',
  // 202 / 504: settlement not final yet
  settlementPending: 'settlement_pending',
  settlementUnresolved: 'settlement_unresolved',
  // 5xx
  facilitatorUnavailable: 'facilitator_unavailable',
  generationFailed: 'generation_failed',
  imageStoreFailed: 'image_store_failed',
  internalError: 'internal_error',
  notFound: 'not_found',
  invalidImageUrl: 'invalid_image_url',
} as const;

export type GatewayErrorCode = (typeof GATEWAY_ERRORS)[keyof typeof GATEWAY_ERRORS];
