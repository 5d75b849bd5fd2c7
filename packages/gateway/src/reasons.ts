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
  /** The EIP-712 signature does not recover to `authorization.from` (official x402 code). */
  invalidSignature: 'invalid_exact_evm_signature',
  /** x402 `payment-identifier` extension present but its id is not 16-128 of [A-Za-z0-9_-]. */
  invalidPaymentIdentifier: 'invalid_payment_identifier',
  /** The authorization was used on chain, and not as this purchase's transfer to this seller. */
  authorizationAlreadyUsed: 'authorization_already_used',
  settlementFailed: 'settlement_failed',
  // 409: the authorization is (being) used
  authorizationReused: 'authorization_reused',
  paymentInProgress: 'payment_in_progress',
  /** The request id (or payment identifier) was already bought by another payer. */
  requestIdConflict: 'request_id_conflict',
  // 202 / 504: settlement not final yet
  settlementPending: 'settlement_pending',
  settlementUnresolved: 'settlement_unresolved',
  // 5xx
  facilitatorUnavailable: 'facilitator_unavailable',
  generationFailed: 'generation_failed',
  /** Generation ran out of its part of the request deadline; nothing was settled. */
  generationTimeout: 'generation_timeout',
  imageStoreFailed: 'image_store_failed',
  internalError: 'internal_error',
  notFound: 'not_found',
  invalidImageUrl: 'invalid_image_url',
} as const;

export type GatewayErrorCode = (typeof GATEWAY_ERRORS)[keyof typeof GATEWAY_ERRORS];

/**
 * A reason another component chose (the facilitator's `invalidReason` / `errorReason`, an imaging
 * error code), passed through unchanged. Branded so that only `passThrough` makes one: a gateway
 * code is always one of `GatewayErrorCode`.
 */
export type PassedThroughCode = string & { readonly __passedThrough: true };
export const passThrough = (code: string): PassedThroughCode => code as PassedThroughCode;

/** Every code a purchase can answer with. */
export type PurchaseErrorCode = GatewayErrorCode | PassedThroughCode;
