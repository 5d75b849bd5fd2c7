/**
 * Reason codes this facilitator adds to the official `@x402/evm` ones (which it passes through
 * unchanged, e.g. `invalid_exact_evm_signature`, `invalid_exact_evm_payload_authorization_valid_before`).
 * All are stable snake_case strings: part of the wire contract.
 */
export const FACILITATOR_REASONS = {
  /** `authorizationState(from, nonce)` is already true, or a settle for it is in flight here. */
  authorizationAlreadyUsed: 'authorization_already_used',
  /** The payer's USDC balance is below the authorized value (official code string). */
  insufficientBalance: 'invalid_exact_evm_insufficient_balance',
  /** The requirements name a network this facilitator does not settle on. */
  unsupportedNetwork: 'invalid_network',
  /** The settlement was broadcast but no receipt arrived in time; `transaction` holds the hash. */
  settlementPending: 'settlement_pending',
  /** The official code answered with a failed transaction. */
  transactionFailed: 'invalid_exact_evm_transaction_failed',
  /** An RPC or other fault while verifying; nothing was settled. */
  unexpectedVerifyError: 'unexpected_verify_error',
  /** An RPC or other fault while settling; see `transaction` for any broadcast hash. */
  unexpectedSettleError: 'unexpected_settle_error',
  /** The requirements name a scheme this facilitator does not serve (batch-settlement turned off). */
  unsupportedScheme: 'unsupported_scheme',
} as const;

/**
 * Reason codes of the batch-settlement scheme this facilitator answers itself (the spec's codes;
 * the official scheme's own, e.g. `invalid_batch_settlement_evm_voucher_signature`, pass through).
 */
export const BATCH_SETTLEMENT_REASONS = {
  /** An operation on the same channel (or receiver and token) is in flight here; retry shortly. */
  channelBusy: 'invalid_batch_settlement_evm_channel_busy',
  /** `paymentPayload.accepted.network` differs from `paymentRequirements.network`. */
  networkMismatch: 'invalid_batch_settlement_evm_network_mismatch',
  /** A pending claim, settle or refund was mined and reverted (found when it was settled again). */
  transactionReverted: 'invalid_batch_settlement_evm_transaction_reverted',
  /** The payload type is not one this route handles (a voucher is never settled on chain). */
  payloadType: 'invalid_batch_settlement_evm_payload_type',
} as const;

/** Error codes of 4xx answers for requests that could not be read at all. */
export const REQUEST_ERRORS = {
  invalidJson: 'invalid_json',
  invalidRequest: 'invalid_request',
  versionMismatch: 'x402_version_mismatch',
  payloadTooLarge: 'payload_too_large',
  notFound: 'not_found',
  /**
   * 401: a claim or refund asks this facilitator to sign as the channel's receiver authorizer
   * without a valid `Authorization: Bearer` token.
   */
  unauthorized: 'unauthorized',
  internal: 'internal_error',
} as const;
