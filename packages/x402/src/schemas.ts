/**
 * x402 wire schemas (v1 and v2, scheme `exact` on EVM with EIP-3009), checked against the official
 * `@x402/core` 2.27 and `x402` 1.2 packages.
 *
 * Strictness, decided once for the whole project:
 * - What a paying client sends (payment payloads, including the `accepted` echo of the
 *   requirements and the EIP-3009 authorization) uses `z.strictObject`: an unknown field is
 *   rejected, because a payload is attacker-controlled and an ignored field would be an unsigned,
 *   unchecked claim. The official clients add no field beyond these (`extensions` and `resource`
 *   are optional here); the interop tests prove it.
 * - What servers and facilitators send (402 bodies, requirements, verify/settle/supported replies)
 *   uses `z.object`, which drops unknown fields, so a newer peer that adds a field still works.
 * - Free-form maps the protocol defines as open (`extra`, `extensions`, `outputSchema`) stay open.
 */
import type { Address, Hex } from 'viem';
import { z } from 'zod';

const MAX_UINT256 = 2n ** 256n - 1n;

export const EVM_ADDRESS_RE = /^0x[0-9a-fA-F]{40}$/;
export const BYTES32_HEX_RE = /^0x[0-9a-fA-F]{64}$/;
const HEX_BYTES_RE = /^0x(?:[0-9a-fA-F]{2})+$/;
const UINT_RE = /^(0|[1-9][0-9]*)$/;
// CAIP-2: namespace (3-8 of [-a-z0-9]) ':' reference (1-32 of [-_a-zA-Z0-9]).
const CAIP2_RE = /^[-a-z0-9]{3,8}:[-_a-zA-Z0-9]{1,32}$/;
const V1_NETWORK_RE = /^[a-z0-9][a-z0-9-]{0,63}$/;

/** A 0x-prefixed 20-byte hex address (any letter case; checksums are not enforced on the wire). */
export const EvmAddress = z
  .string()
  .regex(EVM_ADDRESS_RE, 'expected a 0x-prefixed 20-byte hex address')
  .transform((value) => value as Address);
export type EvmAddress = z.infer<typeof EvmAddress>;

/** 0x-prefixed 32 bytes: EIP-3009 nonces, transaction hashes. */
export const Bytes32Hex = z
  .string()
  .regex(BYTES32_HEX_RE, 'expected 0x followed by 64 hex digits')
  .transform((value) => value as Hex);
export type Bytes32Hex = z.infer<typeof Bytes32Hex>;

/** 0x-prefixed whole bytes (signatures: 65-byte EOA, or longer ERC-1271 / ERC-6492 ones). */
export const HexBytes = z
  .string()
  .max(16_384)
  .regex(HEX_BYTES_RE, 'expected 0x followed by an even number of hex digits')
  .transform((value) => value as Hex);
export type HexBytes = z.infer<typeof HexBytes>;

/** A uint256 as a canonical decimal string (no sign, no leading zeros): atomic amounts, timestamps. */
export const Uint256String = z
  .string()
  .max(78)
  .regex(UINT_RE, 'expected a decimal integer string without sign or leading zeros')
  // zod runs every check even after the regex failed, so guard BigInt() here (it throws on '0.04').
  .refine((value) => !UINT_RE.test(value) || BigInt(value) <= MAX_UINT256, 'value does not fit in uint256');
export type Uint256String = z.infer<typeof Uint256String>;

/** CAIP-2 chain id as x402 v2 uses it (`eip155:84532`). */
export const Caip2 = z
  .string()
  .regex(CAIP2_RE, 'expected a CAIP-2 chain id such as eip155:84532')
  .transform((value) => value as `${string}:${string}`);
export type Caip2 = z.infer<typeof Caip2>;

/** x402 v1 network name (`base-sepolia`). */
export const V1Network = z
  .string()
  .regex(V1_NETWORK_RE, 'expected an x402 v1 network name such as base-sepolia');
export type V1Network = z.infer<typeof V1Network>;

const OpenRecord = z.record(z.string(), z.unknown());
const TimeoutSeconds = z.number().int().positive();

// ---------------------------------------------------------------------------------------------
// v1

/** x402 v1 payment requirements, one entry of `accepts` in the 402 body. */
export const PaymentRequirementsV1 = z.object({
  scheme: z.string().min(1),
  network: V1Network,
  /** Decimal string of atomic units (USDC: 6 decimals). */
  maxAmountRequired: Uint256String,
  resource: z.url(),
  description: z.string(),
  mimeType: z.string(),
  payTo: EvmAddress,
  maxTimeoutSeconds: TimeoutSeconds,
  asset: EvmAddress,
  outputSchema: OpenRecord.optional(),
  extra: OpenRecord.optional(),
});
export type PaymentRequirementsV1 = z.infer<typeof PaymentRequirementsV1>;

/** The v1 402 body: `{ x402Version: 1, accepts, error? }`. */
export const PaymentRequiredV1 = z.object({
  x402Version: z.literal(1),
  accepts: z.array(PaymentRequirementsV1).min(1),
  error: z.string().optional(),
});
export type PaymentRequiredV1 = z.infer<typeof PaymentRequiredV1>;

// ---------------------------------------------------------------------------------------------
// v2

const resourceInfoShape = {
  url: z.string().min(1).max(2048),
  description: z.string().optional(),
  mimeType: z.string().optional(),
  serviceName: z.string().min(1).max(32).optional(),
  tags: z.array(z.string().min(1).max(32)).max(5).optional(),
  iconUrl: z.string().max(2048).optional(),
};

/** v2 `resource` of a 402 (`{ url, description?, mimeType? }`, plus the optional display fields). */
export const ResourceInfo = z.object(resourceInfoShape);
export type ResourceInfo = z.infer<typeof ResourceInfo>;

const requirementsV2Shape = {
  scheme: z.string().min(1),
  network: Caip2,
  /** Decimal string of atomic units (USDC: 6 decimals). */
  amount: Uint256String,
  asset: EvmAddress,
  payTo: EvmAddress,
  maxTimeoutSeconds: TimeoutSeconds,
  extra: OpenRecord,
};

/** x402 v2 payment requirements, one entry of `accepts`. */
export const PaymentRequirementsV2 = z.object(requirementsV2Shape);
export type PaymentRequirementsV2 = z.infer<typeof PaymentRequirementsV2>;

/** The v2 402 object carried base64-encoded in the `PAYMENT-REQUIRED` header. */
export const PaymentRequiredV2 = z.object({
  x402Version: z.literal(2),
  error: z.string().optional(),
  resource: ResourceInfo,
  accepts: z.array(PaymentRequirementsV2).min(1),
  extensions: OpenRecord.optional(),
});
export type PaymentRequiredV2 = z.infer<typeof PaymentRequiredV2>;

/** A 402 of either version: the v2 `PAYMENT-REQUIRED` object or the v1 JSON body. */
export const PaymentRequired = z.discriminatedUnion('x402Version', [PaymentRequiredV1, PaymentRequiredV2]);
export type PaymentRequired = z.infer<typeof PaymentRequired>;

// ---------------------------------------------------------------------------------------------
// exact-EVM payment payloads (client → server, strict)

/** EIP-3009 `TransferWithAuthorization` message on the wire: uint256 values as decimal strings. */
export const ExactEvmAuthorization = z.strictObject({
  from: EvmAddress,
  to: EvmAddress,
  value: Uint256String,
  validAfter: Uint256String,
  validBefore: Uint256String,
  nonce: Bytes32Hex,
});
export type ExactEvmAuthorization = z.infer<typeof ExactEvmAuthorization>;

/** The `payload` of an exact-EVM (EIP-3009) payment. */
export const ExactEvmPayload = z.strictObject({
  signature: HexBytes,
  authorization: ExactEvmAuthorization,
});
export type ExactEvmPayload = z.infer<typeof ExactEvmPayload>;

/** v1 payment payload (header `X-PAYMENT`, and what the seed sends in `PAYMENT-SIGNATURE`). */
export const PaymentPayloadV1 = z.strictObject({
  x402Version: z.literal(1),
  scheme: z.literal('exact'),
  network: V1Network,
  payload: ExactEvmPayload,
});
export type PaymentPayloadV1 = z.infer<typeof PaymentPayloadV1>;

/** The client's echo of the requirements it chose; strict like the rest of the payload. */
export const AcceptedRequirementsV2 = z.strictObject({ ...requirementsV2Shape, scheme: z.literal('exact') });
export type AcceptedRequirementsV2 = z.infer<typeof AcceptedRequirementsV2>;

/** v2 payment payload (header `PAYMENT-SIGNATURE`). */
export const PaymentPayloadV2 = z.strictObject({
  x402Version: z.literal(2),
  resource: z.strictObject(resourceInfoShape).optional(),
  accepted: AcceptedRequirementsV2,
  payload: ExactEvmPayload,
  extensions: OpenRecord.optional(),
});
export type PaymentPayloadV2 = z.infer<typeof PaymentPayloadV2>;

/** A v1 or v2 payment payload, discriminated by `x402Version`. */
export const PaymentPayload = z.discriminatedUnion('x402Version', [PaymentPayloadV1, PaymentPayloadV2]);
export type PaymentPayload = z.infer<typeof PaymentPayload>;

// ---------------------------------------------------------------------------------------------
// facilitator API (/verify, /settle, /supported)

/** `/verify` and `/settle` body for v1. `x402Version` is optional: early v1 clients omitted it. */
export const FacilitatorRequestV1 = z.object({
  x402Version: z.literal(1).optional(),
  paymentPayload: PaymentPayloadV1,
  paymentRequirements: PaymentRequirementsV1,
});
export type FacilitatorRequestV1 = z.infer<typeof FacilitatorRequestV1>;

/** `/verify` and `/settle` body for v2. */
export const FacilitatorRequestV2 = z.object({
  x402Version: z.literal(2).optional(),
  paymentPayload: PaymentPayloadV2,
  paymentRequirements: PaymentRequirementsV2,
});
export type FacilitatorRequestV2 = z.infer<typeof FacilitatorRequestV2>;

export const FacilitatorRequest = z.union([FacilitatorRequestV1, FacilitatorRequestV2]);
export type FacilitatorRequest = z.infer<typeof FacilitatorRequest>;
export const VerifyRequest = FacilitatorRequest;
export type VerifyRequest = FacilitatorRequest;
export const SettleRequest = FacilitatorRequest;
export type SettleRequest = FacilitatorRequest;

/** `/verify` reply. A rejection is a value (`isValid: false` + a snake_case `invalidReason`). */
export const VerifyResponse = z.object({
  isValid: z.boolean(),
  invalidReason: z.string().optional(),
  invalidMessage: z.string().optional(),
  payer: z.string().optional(),
  extensions: OpenRecord.optional(),
  extensionResponses: OpenRecord.optional(),
  extra: OpenRecord.optional(),
});
export type VerifyResponse = z.infer<typeof VerifyResponse>;

/**
 * `/settle` reply, also the object in `PAYMENT-RESPONSE` / `X-PAYMENT-RESPONSE`. `transaction` is
 * empty when settlement failed; `network` is a v1 name or a CAIP-2 id, matching the request.
 */
export const SettleResponse = z.object({
  success: z.boolean(),
  errorReason: z.string().optional(),
  errorMessage: z.string().optional(),
  payer: z.string().optional(),
  transaction: z.string(),
  network: z.string().min(1),
  amount: Uint256String.optional(),
  extensions: OpenRecord.optional(),
  extensionResponses: OpenRecord.optional(),
  extra: OpenRecord.optional(),
});
export type SettleResponse = z.infer<typeof SettleResponse>;

export const SupportedKind = z.object({
  x402Version: z.number().int().positive(),
  scheme: z.string().min(1),
  network: z.string().min(1),
  extra: OpenRecord.optional(),
});
export type SupportedKind = z.infer<typeof SupportedKind>;

/** `/supported` reply. v1 facilitators send only `kinds`; the v2 fields default to empty. */
export const SupportedResponse = z.object({
  kinds: z.array(SupportedKind),
  extensions: z.array(z.string()).default([]),
  signers: z.record(z.string(), z.array(z.string())).default({}),
});
export type SupportedResponse = z.infer<typeof SupportedResponse>;
