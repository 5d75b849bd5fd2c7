// Interop with the official x402 v1 TypeScript packages (`x402` 1.2, `x402-fetch` 1.2): their
// clients pay our v1 402 bodies, our decoders accept what they produce, and their zod schemas and
// decoders accept what we encode. Signing is offline with a local viem account.
import { verifyTypedData } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { describe, expect, it } from 'vitest';
import { createPaymentHeader, preparePaymentHeader, signPaymentHeader } from 'x402/client';
import { exact } from 'x402/schemes';
import { decodeXPaymentResponse } from 'x402/shared';
import {
  PaymentPayloadSchema as OfficialPaymentPayloadSchema,
  PaymentRequirementsSchema as OfficialPaymentRequirementsSchema,
  SettleResponseSchema as OfficialSettleResponseSchema,
  VerifyResponseSchema as OfficialVerifyResponseSchema,
  settleResponseFromHeader,
  settleResponseHeader,
} from 'x402/types';
import { wrapFetchWithPayment } from 'x402-fetch';
import {
  decodePaymentHeader,
  decodePaymentResponseHeader,
  encodePaymentHeader,
  encodePaymentResponseHeader,
} from './codec.ts';
import { authorizationFromWire, transferWithAuthorizationTypedData } from './eip712.ts';
import { X402_HEADERS } from './headers.ts';
import { getNetwork } from './networks.ts';
import {
  FacilitatorRequest,
  type PaymentPayload,
  PaymentRequiredV1,
  SettleResponse,
  VerifyResponse,
} from './schemas.ts';
import {
  buildPaymentPayloadV1,
  buildPaymentRequiredV1,
  buildRequirementsV1,
  buildSettleResponse,
  SELLER,
} from './test-builders.ts';

const account = privateKeyToAccount(generatePrivateKey());

async function signatureIsValid(payment: PaymentPayload): Promise<boolean> {
  if (payment.x402Version !== 1) return false;
  const network = getNetwork(payment.network);
  const typedData = transferWithAuthorizationTypedData({
    chainId: network.chainId,
    verifyingContract: network.usdcAddress,
    authorization: authorizationFromWire(payment.payload.authorization),
  });
  return verifyTypedData({ ...typedData, address: account.address, signature: payment.payload.signature });
}

describe('official v1 parsers accept what we produce', () => {
  it('validates our v1 requirements (the seed 402 body entries) with PaymentRequirementsSchema', () => {
    for (const requirements of buildPaymentRequiredV1().accepts) {
      expect(OfficialPaymentRequirementsSchema.parse(requirements)).toStrictEqual(requirements);
    }
  });

  it('decodes our v1 payment header with exact.evm.decodePayment', () => {
    const ours = buildPaymentPayloadV1();
    const decoded = exact.evm.decodePayment(encodePaymentHeader(ours));
    expect(decoded).toStrictEqual(ours);
    expect(OfficialPaymentPayloadSchema.safeParse(ours).success).toBe(true);
  });

  it('reads our X-PAYMENT-RESPONSE with decodeXPaymentResponse and SettleResponseSchema', () => {
    const ours = buildSettleResponse({ network: 'base-sepolia' });
    const header = encodePaymentResponseHeader(ours);
    expect(decodeXPaymentResponse(header)).toStrictEqual(ours);
    expect(settleResponseFromHeader(header)).toStrictEqual(ours);
    expect(OfficialSettleResponseSchema.parse(ours)).toStrictEqual(ours);
  });
});

describe('our decoders accept what the official v1 client produces', () => {
  it('accepts the X-PAYMENT header from createPaymentHeader', async () => {
    const requirements = OfficialPaymentRequirementsSchema.parse(buildRequirementsV1());
    const header = await createPaymentHeader(account, 1, requirements);
    const decoded = decodePaymentHeader(header);
    expect(decoded).toStrictEqual(exact.evm.decodePayment(header));
    expect(decoded).toMatchObject({
      x402Version: 1,
      scheme: 'exact',
      network: 'base-sepolia',
      payload: { authorization: { from: account.address, to: SELLER, value: '40000' } },
    });
    expect(await signatureIsValid(decoded)).toBe(true);
  });

  it('accepts a payment made with preparePaymentHeader + signPaymentHeader, even with a lowercase payTo', async () => {
    const requirements = OfficialPaymentRequirementsSchema.parse(
      buildRequirementsV1({ payTo: SELLER.toLowerCase() as `0x${string}` }),
    );
    const unsigned = preparePaymentHeader(account.address, 1, requirements);
    const header = await signPaymentHeader(account, requirements, unsigned);
    const decoded = decodePaymentHeader(header);
    expect(decoded).toStrictEqual(exact.evm.decodePayment(header));
    expect(decoded.x402Version === 1 && decoded.payload.authorization.to).toBe(SELLER.toLowerCase());
    expect(await signatureIsValid(decoded)).toBe(true);
  });

  it('pays through x402-fetch against a v1 402 body made by our builders', async () => {
    const body = PaymentRequiredV1.parse(buildPaymentRequiredV1());
    const settle = buildSettleResponse({ network: 'base-sepolia', payer: account.address });
    const seen: Headers[] = [];
    // A local stand-in for a v1 seller: 402 with our JSON body first, then 200 with X-PAYMENT-RESPONSE.
    const stubSeller: typeof fetch = async (_input, init) => {
      const headers = new Headers(init?.headers);
      seen.push(headers);
      if (!headers.has(X402_HEADERS.xPayment)) return Response.json(body, { status: 402 });
      return Response.json(
        { status: 'success' },
        { headers: { [X402_HEADERS.xPaymentResponse]: encodePaymentResponseHeader(settle) } },
      );
    };
    const paidFetch = wrapFetchWithPayment(stubSeller, account);
    const response = await paidFetch('http://127.0.0.1:4021/generate_image', { method: 'POST' });

    expect(response.status).toBe(200);
    expect(seen).toHaveLength(2);
    const payment = decodePaymentHeader(seen[1]?.get(X402_HEADERS.xPayment));
    expect(payment.x402Version === 1 && payment.payload.authorization.value).toBe(
      body.accepts[0]?.maxAmountRequired,
    );
    expect(await signatureIsValid(payment)).toBe(true);
    expect(decodePaymentResponseHeader(response.headers.get(X402_HEADERS.xPaymentResponse))).toStrictEqual(
      settle,
    );
  });
});

describe('our schemas accept official v1 facilitator shapes', () => {
  it('parses the body x402 useFacilitator posts to /verify and /settle', async () => {
    const requirements = OfficialPaymentRequirementsSchema.parse(buildRequirementsV1());
    const paymentPayload = exact.evm.decodePayment(await createPaymentHeader(account, 1, requirements));
    // Shape of x402/verify useFacilitator: { x402Version, paymentPayload, paymentRequirements }.
    const body = JSON.parse(
      JSON.stringify({ x402Version: 1, paymentPayload, paymentRequirements: requirements }),
    );
    expect(FacilitatorRequest.parse(body)).toStrictEqual(body);
  });

  it('parses v1 verify and settle replies and X-PAYMENT-RESPONSE headers', () => {
    const verify = OfficialVerifyResponseSchema.parse({
      isValid: false,
      invalidReason: 'invalid_exact_evm_payload_signature',
      payer: account.address,
    });
    expect(VerifyResponse.parse(verify)).toStrictEqual(verify);
    const settle = OfficialSettleResponseSchema.parse({
      success: true,
      payer: account.address,
      transaction: `0x${'ef'.repeat(32)}`,
      network: 'base-sepolia',
    });
    expect(SettleResponse.parse(settle)).toStrictEqual(settle);
    expect(decodePaymentResponseHeader(settleResponseHeader(settle))).toStrictEqual(settle);
  });
});
