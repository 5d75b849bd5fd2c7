import { describe, expect, it } from 'vitest';
import {
  Caip2,
  EvmAddress,
  ExactEvmPayload,
  FacilitatorRequest,
  FacilitatorRequestV1,
  FacilitatorRequestV2,
  HexBytes,
  PaymentPayload,
  PaymentRequired,
  PaymentRequiredV1,
  PaymentRequirementsV1,
  PaymentRequirementsV2,
  SettleResponse,
  SupportedResponse,
  Uint256String,
  V1Network,
  VerifyResponse,
} from './schemas.ts';
import {
  buildAuthorization,
  buildPaymentPayloadV1,
  buildPaymentPayloadV2,
  buildPaymentRequiredV1,
  buildRequirementsV1,
  buildRequirementsV2,
  buildSettleResponse,
} from './test-builders.ts';

describe('primitive schemas', () => {
  it('EvmAddress accepts any letter case and nothing else', () => {
    expect(EvmAddress.safeParse('0x90F79bf6EB2c4f870365E785982E1f101E93b906').success).toBe(true);
    expect(EvmAddress.safeParse('0x90f79bf6eb2c4f870365e785982e1f101e93b906').success).toBe(true);
    for (const bad of ['90f79bf6eb2c4f870365e785982e1f101e93b906', '0x90f79b', `0x${'g'.repeat(40)}`, 42]) {
      expect(EvmAddress.safeParse(bad).success).toBe(false);
    }
  });

  it('Uint256String accepts canonical uint256 decimals only', () => {
    expect(Uint256String.safeParse('0').success).toBe(true);
    expect(Uint256String.safeParse((2n ** 256n - 1n).toString()).success).toBe(true);
    for (const bad of ['', '01', '-1', '1.0', '1e3', ' 1', (2n ** 256n).toString(), '9'.repeat(79), 1]) {
      expect(Uint256String.safeParse(bad).success).toBe(false);
    }
  });

  it('HexBytes needs whole bytes', () => {
    expect(HexBytes.safeParse(`0x${'ab'.repeat(65)}`).success).toBe(true);
    for (const bad of ['0x', '0xabc', 'abab', '0xgg']) expect(HexBytes.safeParse(bad).success).toBe(false);
  });

  it('Caip2 and V1Network tell the two network spellings apart', () => {
    expect(Caip2.safeParse('eip155:84532').success).toBe(true);
    expect(Caip2.safeParse('base-sepolia').success).toBe(false);
    expect(V1Network.safeParse('base-sepolia').success).toBe(true);
    expect(V1Network.safeParse('eip155:84532').success).toBe(false);
  });
});

describe('server-sent shapes are lenient', () => {
  it('drops unknown fields of requirements instead of failing', () => {
    expect(PaymentRequirementsV2.parse({ ...buildRequirementsV2(), futureField: 1 })).toStrictEqual(
      buildRequirementsV2(),
    );
    expect(PaymentRequirementsV1.parse({ ...buildRequirementsV1(), futureField: 1 })).toStrictEqual(
      buildRequirementsV1(),
    );
  });

  it("accepts the seed's v1 402 body", () => {
    const body = {
      x402Version: 1,
      accepts: [
        {
          scheme: 'exact',
          network: 'base-sepolia',
          maxAmountRequired: '40000',
          payTo: '0x90F79bf6EB2c4f870365E785982E1f101E93b906',
          asset: '0x036CbD53842c5426634e7929541eC2318f3dCF7e',
          resource: 'https://example.execute-api.us-east-1.amazonaws.com/prod/generate_image',
          description: 'AI image generation',
          mimeType: 'application/json',
          maxTimeoutSeconds: 60,
          extra: { name: 'USDC', version: '2', chainId: 84532 },
        },
      ],
      error: 'Payment required',
    };
    expect(PaymentRequiredV1.parse(body)).toStrictEqual(body);
  });

  it('discriminates 402 objects by version', () => {
    expect(PaymentRequired.parse(buildPaymentRequiredV1()).x402Version).toBe(1);
    expect(PaymentRequired.safeParse({ ...buildPaymentRequiredV1(), x402Version: 2 }).success).toBe(false);
  });

  it('rejects a 402 body without any accepted requirement', () => {
    expect(PaymentRequiredV1.safeParse(buildPaymentRequiredV1({ accepts: [] })).success).toBe(false);
  });

  it('defaults the v2-only fields of a v1 /supported reply', () => {
    expect(
      SupportedResponse.parse({ kinds: [{ x402Version: 1, scheme: 'exact', network: 'base-sepolia' }] }),
    ).toStrictEqual({
      kinds: [{ x402Version: 1, scheme: 'exact', network: 'base-sepolia' }],
      extensions: [],
      signers: {},
    });
  });

  it('parses verify and settle replies, keeping the rejection reason', () => {
    expect(VerifyResponse.parse({ isValid: false, invalidReason: 'insufficient_funds' })).toStrictEqual({
      isValid: false,
      invalidReason: 'insufficient_funds',
    });
    expect(VerifyResponse.safeParse({ isValid: 'yes' }).success).toBe(false);
    expect(SettleResponse.parse(buildSettleResponse())).toStrictEqual(buildSettleResponse());
    expect(SettleResponse.safeParse(buildSettleResponse({ amount: '0.04' })).success).toBe(false);
  });
});

describe('client-sent shapes are strict', () => {
  it('accepts the builders', () => {
    expect(PaymentPayload.parse(buildPaymentPayloadV1())).toStrictEqual(buildPaymentPayloadV1());
    expect(PaymentPayload.parse(buildPaymentPayloadV2())).toStrictEqual(buildPaymentPayloadV2());
  });

  it('rejects unknown fields in the exact-EVM payload', () => {
    expect(
      ExactEvmPayload.safeParse({
        signature: `0x${'ab'.repeat(65)}`,
        authorization: buildAuthorization(),
        v: 27,
      }).success,
    ).toBe(false);
  });

  it('rejects a v1 payload that claims version 2 and vice versa', () => {
    expect(PaymentPayload.safeParse({ ...buildPaymentPayloadV1(), x402Version: 2 }).success).toBe(false);
    expect(PaymentPayload.safeParse({ ...buildPaymentPayloadV2(), x402Version: 1 }).success).toBe(false);
  });
});

describe('facilitator request bodies', () => {
  it('parses v1 with or without x402Version', () => {
    const body = { paymentPayload: buildPaymentPayloadV1(), paymentRequirements: buildRequirementsV1() };
    expect(FacilitatorRequestV1.parse(body)).toStrictEqual(body);
    expect(FacilitatorRequest.parse({ x402Version: 1, ...body })).toStrictEqual({ x402Version: 1, ...body });
  });

  it('parses v2', () => {
    const body = {
      x402Version: 2,
      paymentPayload: buildPaymentPayloadV2(),
      paymentRequirements: buildRequirementsV2(),
    };
    expect(FacilitatorRequestV2.parse(body)).toStrictEqual(body);
    expect(FacilitatorRequest.parse(body)).toStrictEqual(body);
  });

  it('rejects a body whose outer version contradicts the payload', () => {
    const body = {
      x402Version: 1,
      paymentPayload: buildPaymentPayloadV2(),
      paymentRequirements: buildRequirementsV2(),
    };
    expect(FacilitatorRequest.safeParse(body).success).toBe(false);
  });

  it('rejects mixing v1 requirements with a v2 payload', () => {
    const body = { paymentPayload: buildPaymentPayloadV2(), paymentRequirements: buildRequirementsV1() };
    expect(FacilitatorRequest.safeParse(body).success).toBe(false);
  });
});
