import {
  Bytes32Hex,
  Caip2,
  DEFAULT_MAX_HEADER_BYTES,
  decodeHeader,
  decodePaymentHeader,
  EvmAddress,
  HexBytes,
  type PaymentPayload,
  Uint256String,
} from '@agentic-payments/x402';
import { z } from 'zod';

/**
 * x402 v2 payment payloads of the `batch-settlement` scheme (spec `scheme_batch_settlement_evm.md`,
 * "Client: Payment Construction"): `deposit`, `voucher` and `refund`, as `@x402/evm`'s client sends
 * them. Strict, as the exact payloads are: an unknown field is a `header_invalid` 402. The
 * server-authored types (`claim`, `settle`) are never accepted from a client.
 */
const Uint = Uint256String;
const ChannelConfig = z.strictObject({
  payer: EvmAddress,
  payerAuthorizer: EvmAddress,
  receiver: EvmAddress,
  receiverAuthorizer: EvmAddress,
  token: EvmAddress,
  withdrawDelay: z.number().int().positive(),
  salt: Bytes32Hex,
});
const Voucher = z.strictObject({ channelId: Bytes32Hex, maxClaimableAmount: Uint, signature: HexBytes });
const Erc3009Authorization = z.strictObject({
  validAfter: Uint,
  validBefore: Uint,
  salt: Bytes32Hex,
  signature: HexBytes,
});
const Permit2Authorization = z.strictObject({
  from: EvmAddress,
  permitted: z.strictObject({ token: EvmAddress, amount: Uint }),
  spender: EvmAddress,
  nonce: Uint,
  deadline: Uint,
  witness: z.strictObject({ channelId: Bytes32Hex }),
  signature: HexBytes,
});
const DepositAuthorization = z.union([
  z.strictObject({ erc3009Authorization: Erc3009Authorization }),
  z.strictObject({ permit2Authorization: Permit2Authorization }),
]);

export const BatchSettlementClientPayload = z.discriminatedUnion('type', [
  z.strictObject({
    type: z.literal('deposit'),
    channelConfig: ChannelConfig,
    voucher: Voucher,
    deposit: z.strictObject({ amount: Uint, authorization: DepositAuthorization }),
  }),
  z.strictObject({ type: z.literal('voucher'), channelConfig: ChannelConfig, voucher: Voucher }),
  z.strictObject({
    type: z.literal('refund'),
    channelConfig: ChannelConfig,
    voucher: Voucher,
    amount: Uint.optional(),
  }),
]);
export type BatchSettlementClientPayload = z.infer<typeof BatchSettlementClientPayload>;

const OpenRecord = z.record(z.string(), z.unknown());

/** The client's echo of the batch-settlement requirements it chose. */
export const BatchSettlementAccepted = z.strictObject({
  scheme: z.literal('batch-settlement'),
  network: Caip2,
  amount: Uint,
  asset: EvmAddress,
  payTo: EvmAddress,
  maxTimeoutSeconds: z.number().int().positive(),
  extra: OpenRecord,
});

export const BatchSettlementPaymentPayload = z.strictObject({
  x402Version: z.literal(2),
  resource: z
    .looseObject({ url: z.string().min(1).max(2048), description: z.string().optional() })
    .optional(),
  accepted: BatchSettlementAccepted,
  payload: BatchSettlementClientPayload,
  extensions: OpenRecord.optional(),
});
export type BatchSettlementPaymentPayload = z.infer<typeof BatchSettlementPaymentPayload>;

export type GatewayPayment =
  | { readonly scheme: 'exact'; readonly payment: PaymentPayload }
  | { readonly scheme: 'batch-settlement'; readonly payment: BatchSettlementPaymentPayload };

const HEADER = { headerName: 'payment', maxBytes: DEFAULT_MAX_HEADER_BYTES } as const;

/** Only a v2 payload naming `batch-settlement` is judged by the batch-settlement schema. */
const NamesBatchSettlement = z.looseObject({
  x402Version: z.literal(2),
  accepted: z.looseObject({ scheme: z.literal('batch-settlement') }),
});

/**
 * Decode a payment header of either scheme. Size, base64 and JSON are checked once, with the
 * codes of `decodePaymentHeader` (`header_too_large`, `header_not_base64`, `header_not_json`,
 * `header_invalid`); a v2 payload that names `batch-settlement` is then parsed by its own strict
 * schema, anything else exactly as before.
 */
export function decodeGatewayPayment(header: string): GatewayPayment {
  const json = decodeHeader(header, z.unknown(), HEADER);
  if (NamesBatchSettlement.safeParse(json).success) {
    return {
      scheme: 'batch-settlement',
      payment: decodeHeader(header, BatchSettlementPaymentPayload, HEADER),
    };
  }
  return { scheme: 'exact', payment: decodePaymentHeader(header) };
}
