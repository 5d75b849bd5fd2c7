import { Bytes32Hex, Caip2, EvmAddress, HexBytes, ResourceInfo, Uint256String } from '@agentic-payments/x402';
import { z } from 'zod';

/**
 * `/verify` and `/settle` bodies of the x402 `batch-settlement` scheme on EVM (spec:
 * `specs/schemes/batch-settlement/scheme_batch_settlement_evm.md`), as `@x402/evm` 2.27's client
 * and server channel manager send them. Payloads are strict like the exact ones (an unknown field
 * would be an unsigned, unchecked claim); requirements stay open. Only ERC-3009 deposits (through
 * the deposit collector) are accepted: this facilitator does not sponsor Permit2 deposits.
 */

const MAX_UINT128 = 2n ** 128n - 1n;
const MAX_UINT40 = 2 ** 40 - 1;

/** A uint128 (the contract's amount type) as a canonical decimal string. */
const Uint128String = Uint256String.refine(
  (value) => !/^(0|[1-9][0-9]*)$/.test(value) || BigInt(value) <= MAX_UINT128,
  'value does not fit in uint128',
);

const OpenRecord = z.record(z.string(), z.unknown());

export const ChannelConfig = z.strictObject({
  payer: EvmAddress,
  payerAuthorizer: EvmAddress,
  receiver: EvmAddress,
  receiverAuthorizer: EvmAddress,
  token: EvmAddress,
  withdrawDelay: z.number().int().min(0).max(MAX_UINT40),
  salt: Bytes32Hex,
});
export type ChannelConfig = z.infer<typeof ChannelConfig>;

const VoucherFields = z.strictObject({
  channelId: Bytes32Hex,
  maxClaimableAmount: Uint128String,
  signature: HexBytes,
});

const VoucherClaim = z.strictObject({
  voucher: z.strictObject({ channel: ChannelConfig, maxClaimableAmount: Uint128String }),
  signature: HexBytes,
  totalClaimed: Uint128String,
});
export type VoucherClaim = z.infer<typeof VoucherClaim>;

/** Most vouchers in one claim transaction (the official channel manager batches 100 by default). */
export const MAX_CLAIMS_PER_BATCH = 200;
const Claims = z.array(VoucherClaim).max(MAX_CLAIMS_PER_BATCH);

const DepositPayload = z.strictObject({
  type: z.literal('deposit'),
  channelConfig: ChannelConfig,
  voucher: VoucherFields,
  deposit: z.strictObject({
    amount: Uint128String,
    authorization: z.strictObject({
      erc3009Authorization: z.strictObject({
        validAfter: Uint256String,
        validBefore: Uint256String,
        salt: Bytes32Hex,
        signature: HexBytes,
      }),
    }),
  }),
});

const VoucherPayload = z.strictObject({
  type: z.literal('voucher'),
  channelConfig: ChannelConfig,
  voucher: VoucherFields,
});

/**
 * A refund: the client's (`amount` optional) for `/verify`, or the server-completed one for
 * `/settle` (`amount`, `refundNonce`, `claims`, and the receiver authorizer's signatures unless
 * the channel delegates that role to this facilitator).
 */
const RefundPayload = z.strictObject({
  type: z.literal('refund'),
  channelConfig: ChannelConfig,
  voucher: VoucherFields,
  amount: Uint128String.optional(),
  refundNonce: Uint256String.optional(),
  claims: Claims.optional(),
  refundAuthorizerSignature: HexBytes.optional(),
  claimAuthorizerSignature: HexBytes.optional(),
});

const ClaimPayload = z.strictObject({
  type: z.literal('claim'),
  claims: Claims.min(1),
  claimAuthorizerSignature: HexBytes.optional(),
});

const SettlePayload = z.strictObject({
  type: z.literal('settle'),
  receiver: EvmAddress,
  token: EvmAddress,
});

export const BatchSettlementPayload = z.discriminatedUnion('type', [
  DepositPayload,
  VoucherPayload,
  RefundPayload,
  ClaimPayload,
  SettlePayload,
]);
export type BatchSettlementPayload = z.infer<typeof BatchSettlementPayload>;
export type BatchSettlementOperation = BatchSettlementPayload['type'];

// The channel manager's own operations (claim, settle, refund) carry `amount: "0"` and
// `maxTimeoutSeconds: 0`, so both only need to be non-negative here.
const requirementsShape = {
  scheme: z.literal('batch-settlement'),
  network: Caip2,
  amount: Uint256String,
  asset: EvmAddress,
  payTo: EvmAddress,
  maxTimeoutSeconds: z.number().int().min(0),
  extra: OpenRecord,
};

export const BatchSettlementRequirements = z.object(requirementsShape);
export type BatchSettlementRequirements = z.infer<typeof BatchSettlementRequirements>;

export const BatchSettlementPaymentPayload = z.strictObject({
  x402Version: z.literal(2),
  resource: ResourceInfo.optional(),
  accepted: z.strictObject(requirementsShape),
  payload: BatchSettlementPayload,
  extensions: OpenRecord.optional(),
});
export type BatchSettlementPaymentPayload = z.infer<typeof BatchSettlementPaymentPayload>;

/** `/verify` and `/settle` body of a batch-settlement payment or operation (x402 v2 only). */
export const BatchSettlementRequestBody = z.object({
  x402Version: z.literal(2).optional(),
  paymentPayload: BatchSettlementPaymentPayload,
  paymentRequirements: BatchSettlementRequirements,
});
export type BatchSettlementRequestBody = z.infer<typeof BatchSettlementRequestBody>;
