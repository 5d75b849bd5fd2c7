// Builders for tests (not exported from the package entry). Each takes overrides.
import { encodeHeader } from './codec.ts';
import { NETWORKS } from './networks.ts';
import type {
  ExactEvmAuthorization,
  PaymentPayloadV1,
  PaymentPayloadV2,
  PaymentRequiredV1,
  PaymentRequiredV2,
  PaymentRequirementsV1,
  PaymentRequirementsV2,
  SettleResponse,
} from './schemas.ts';
import { USDC_EIP712_DOMAIN } from './usdc.ts';

/** anvil account #3, the conventional seller (`payTo`). */
export const SELLER = '0x90F79bf6EB2c4f870365E785982E1f101E93b906';
/** anvil account #1, the conventional agent payer. */
export const PAYER = '0x70997970C51812dc3A010C7d01b50e0d17dc79C8';
export const RESOURCE_URL = 'http://127.0.0.1:4021/generate_image';
const TX_HASH = `0x${'ab'.repeat(32)}` as const;
const NONCE = `0x${'12'.repeat(32)}` as const;
const SIGNATURE = `0x${'34'.repeat(65)}` as const;

export function buildRequirementsV2(overrides: Partial<PaymentRequirementsV2> = {}): PaymentRequirementsV2 {
  const network = NETWORKS['base-sepolia'];
  return {
    scheme: 'exact',
    network: network.caip2,
    amount: '40000',
    asset: network.usdcAddress,
    payTo: SELLER,
    maxTimeoutSeconds: 300,
    extra: { ...USDC_EIP712_DOMAIN },
    ...overrides,
  };
}

export function buildPaymentRequiredV2(overrides: Partial<PaymentRequiredV2> = {}): PaymentRequiredV2 {
  return {
    x402Version: 2,
    error: 'PAYMENT-SIGNATURE header is required',
    resource: {
      url: RESOURCE_URL,
      description: 'AI image, 1024x1024 standard',
      mimeType: 'application/json',
    },
    accepts: [buildRequirementsV2()],
    ...overrides,
  };
}

export function buildRequirementsV1(overrides: Partial<PaymentRequirementsV1> = {}): PaymentRequirementsV1 {
  const network = NETWORKS['base-sepolia'];
  return {
    scheme: 'exact',
    network: network.v1Name,
    maxAmountRequired: '40000',
    resource: RESOURCE_URL,
    description: 'AI image, 1024x1024 standard',
    mimeType: 'application/json',
    payTo: SELLER,
    maxTimeoutSeconds: 300,
    asset: network.usdcAddress,
    extra: { ...USDC_EIP712_DOMAIN, chainId: network.chainId },
    ...overrides,
  };
}

export function buildPaymentRequiredV1(overrides: Partial<PaymentRequiredV1> = {}): PaymentRequiredV1 {
  return {
    x402Version: 1,
    accepts: [buildRequirementsV1()],
    error: 'X-PAYMENT header is required',
    ...overrides,
  };
}

export function buildAuthorization(overrides: Partial<ExactEvmAuthorization> = {}): ExactEvmAuthorization {
  return {
    from: PAYER,
    to: SELLER,
    value: '40000',
    validAfter: '0',
    validBefore: '1900000000',
    nonce: NONCE,
    ...overrides,
  };
}

export function buildPaymentPayloadV2(overrides: Partial<PaymentPayloadV2> = {}): PaymentPayloadV2 {
  const { resource } = buildPaymentRequiredV2();
  return {
    x402Version: 2,
    resource,
    accepted: { ...buildRequirementsV2(), scheme: 'exact' },
    payload: { signature: SIGNATURE, authorization: buildAuthorization() },
    ...overrides,
  };
}

export function buildPaymentPayloadV1(overrides: Partial<PaymentPayloadV1> = {}): PaymentPayloadV1 {
  return {
    x402Version: 1,
    scheme: 'exact',
    network: 'base-sepolia',
    payload: { signature: SIGNATURE, authorization: buildAuthorization() },
    ...overrides,
  };
}

export function buildSettleResponse(overrides: Partial<SettleResponse> = {}): SettleResponse {
  return { success: true, payer: PAYER, transaction: TX_HASH, network: 'eip155:84532', ...overrides };
}

/** base64(JSON) of an arbitrary value, bypassing our validation, to feed decoders bad input. */
export function rawHeader(value: unknown): string {
  return encodeHeader(value);
}
