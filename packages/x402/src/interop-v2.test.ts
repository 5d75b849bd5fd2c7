// Interop with the official x402 v2 TypeScript packages (@x402/core 2.27, @x402/evm 2.27,
// @x402/fetch 2.27): their clients pay our 402s, our decoders accept what they produce, and their
// parsers accept what we encode. Signing is offline with a local viem account; no network is used.
import { x402Client, x402HTTPClient } from '@x402/core/client';
import {
  decodePaymentRequiredHeader as officialDecodePaymentRequired,
  decodePaymentResponseHeader as officialDecodePaymentResponse,
  decodePaymentSignatureHeader as officialDecodePaymentSignature,
  encodePaymentRequiredHeader as officialEncodePaymentRequired,
  encodePaymentResponseHeader as officialEncodePaymentResponse,
  encodePaymentSignatureHeader as officialEncodePaymentSignature,
} from '@x402/core/http';
import {
  PaymentPayloadV1Schema,
  PaymentPayloadV2Schema,
  PaymentRequiredV1Schema,
  PaymentRequiredV2Schema,
  PaymentRequirementsV2Schema,
} from '@x402/core/schemas';
import type { FacilitatorClient } from '@x402/core/server';
import { x402ResourceServer } from '@x402/core/server';
import type {
  PaymentPayload as OfficialPaymentPayload,
  PaymentRequired as OfficialPaymentRequired,
  SettleResponse as OfficialSettleResponse,
  VerifyResponse as OfficialVerifyResponse,
} from '@x402/core/types';
import { ExactEvmScheme, registerExactEvmScheme } from '@x402/evm/exact/client';
import { ExactEvmScheme as ExactEvmServerScheme } from '@x402/evm/exact/server';
import { wrapFetchWithPayment } from '@x402/fetch';
import { verifyTypedData } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { describe, expect, it } from 'vitest';
import {
  decodePaymentHeader,
  decodePaymentRequiredHeader,
  decodePaymentResponseHeader,
  encodePaymentHeader,
  encodePaymentRequiredHeader,
  encodePaymentResponseHeader,
} from './codec.ts';
import { authorizationFromWire, transferWithAuthorizationTypedData } from './eip712.ts';
import { X402_HEADERS } from './headers.ts';
import { getNetwork } from './networks.ts';
import {
  FacilitatorRequest,
  type PaymentPayload,
  PaymentPayloadV2,
  SettleResponse,
  SupportedResponse,
  VerifyResponse,
} from './schemas.ts';
import {
  buildPaymentPayloadV2,
  buildPaymentRequiredV1,
  buildPaymentRequiredV2,
  buildRequirementsV2,
  buildSettleResponse,
  SELLER,
} from './test-builders.ts';

const account = privateKeyToAccount(generatePrivateKey());

/** Checks the signature of a decoded payment against our own EIP-712 typed data. */
async function signatureIsValid(payment: PaymentPayload): Promise<boolean> {
  const network = getNetwork(payment.x402Version === 2 ? payment.accepted.network : payment.network);
  const asset = payment.x402Version === 2 ? payment.accepted.asset : network.usdcAddress;
  const typedData = transferWithAuthorizationTypedData({
    chainId: network.chainId,
    verifyingContract: asset,
    authorization: authorizationFromWire(payment.payload.authorization),
  });
  return verifyTypedData({ ...typedData, address: account.address, signature: payment.payload.signature });
}

function headersOf(record: Record<string, string>): (name: string) => string | null {
  const headers = new Headers(record);
  return (name) => headers.get(name);
}

// Compile-time interop: our inferred types are assignable to the official ones. (The official
// v1 and settle/supported types declare `network` as `${string}:${string}`, which v1 names such as
// base-sepolia do not satisfy, so those are checked at run time below instead.)
const typeChecks: [OfficialPaymentRequired, OfficialPaymentPayload, OfficialVerifyResponse] = [
  buildPaymentRequiredV2(),
  buildPaymentPayloadV2(),
  VerifyResponse.parse({ isValid: true }),
];

describe('official parsers accept what we encode', () => {
  it('decodes our PAYMENT-REQUIRED header and validates it with the core v2 schema', () => {
    const ours = buildPaymentRequiredV2();
    const decoded = officialDecodePaymentRequired(encodePaymentRequiredHeader(ours));
    expect(decoded).toStrictEqual(ours);
    expect(PaymentRequiredV2Schema.safeParse(decoded).success).toBe(true);
    expect(typeChecks).toHaveLength(3);
  });

  it('validates our v1 402 body with the core v1 schema', () => {
    expect(PaymentRequiredV1Schema.safeParse(buildPaymentRequiredV1()).success).toBe(true);
  });

  it('decodes our payment headers with the core decoder and schemas', () => {
    const v2 = buildPaymentPayloadV2();
    const decoded = officialDecodePaymentSignature(encodePaymentHeader(v2));
    expect(decoded).toStrictEqual(v2);
    expect(PaymentPayloadV2Schema.safeParse(decoded).success).toBe(true);
    expect(PaymentRequirementsV2Schema.safeParse(decoded.accepted).success).toBe(true);
  });

  it('reads our PAYMENT-RESPONSE and X-PAYMENT-RESPONSE headers', () => {
    const ours = buildSettleResponse();
    const header = encodePaymentResponseHeader(ours);
    expect(officialDecodePaymentResponse(header)).toStrictEqual(ours);
    const http = new x402HTTPClient(new x402Client());
    expect(
      http.getPaymentSettleResponse(headersOf({ [X402_HEADERS.paymentResponse]: header })),
    ).toStrictEqual(ours);
    expect(
      http.getPaymentSettleResponse(headersOf({ [X402_HEADERS.xPaymentResponse]: header })),
    ).toStrictEqual(ours);
  });

  it('sends requirements whose extra carries the USDC EIP-712 domain the exact client needs', () => {
    expect(buildRequirementsV2().extra).toMatchObject({ name: 'USDC', version: '2' });
  });
});

describe('our decoders accept what the official v2 client produces', () => {
  it('accepts a v2 exact-EVM payment built by x402Client + ExactEvmScheme from our 402', async () => {
    const client = new x402Client().register('eip155:84532', new ExactEvmScheme(account));
    const http = new x402HTTPClient(client);
    const ours = buildPaymentRequiredV2();
    const paymentRequired = http.getPaymentRequiredResponse(
      headersOf({ [X402_HEADERS.paymentRequired]: encodePaymentRequiredHeader(ours) }),
      buildPaymentRequiredV1(),
    );
    const officialPayload = await http.createPaymentPayload(paymentRequired);
    const headers = http.encodePaymentSignatureHeader(officialPayload);
    expect(Object.keys(headers)).toStrictEqual([X402_HEADERS.paymentSignature]);

    const decoded = decodePaymentHeader(headers[X402_HEADERS.paymentSignature]);
    expect(decoded).toStrictEqual(JSON.parse(JSON.stringify(officialPayload)));
    if (decoded.x402Version !== 2) throw new Error('expected a v2 payload');
    expect(decoded.accepted).toStrictEqual(ours.accepts[0]);
    expect(decoded.resource).toStrictEqual(ours.resource);
    expect(decoded.payload.authorization).toMatchObject({
      from: account.address,
      to: SELLER,
      value: '40000',
    });
    expect(await signatureIsValid(decoded)).toBe(true);
  });

  it('accepts the extensions the official client echoes back', async () => {
    const client = new x402Client().register('eip155:84532', new ExactEvmScheme(account));
    const ours = buildPaymentRequiredV2({
      extensions: { 'example-ext': { info: { note: 'server-declared' } } },
    });
    const officialPayload = await client.createPaymentPayload(
      officialDecodePaymentRequired(encodePaymentRequiredHeader(ours)),
    );
    const decoded = decodePaymentHeader(officialEncodePaymentSignature(officialPayload));
    expect(decoded).toStrictEqual(JSON.parse(JSON.stringify(officialPayload)));
    expect(decoded.x402Version === 2 && decoded.extensions).toStrictEqual(ours.extensions);
  });

  it('accepts a v1 payment built by the official @x402/evm v1 scheme from our v1 body', async () => {
    const client = registerExactEvmScheme(new x402Client(), { signer: account });
    const http = new x402HTTPClient(client);
    // Without a PAYMENT-REQUIRED header the official client falls back to the v1 JSON body.
    const body: unknown = JSON.parse(JSON.stringify(buildPaymentRequiredV1()));
    const paymentRequired = http.getPaymentRequiredResponse(() => null, body);
    expect(paymentRequired.x402Version).toBe(1);
    const officialPayload = await http.createPaymentPayload(paymentRequired);
    expect(PaymentPayloadV1Schema.safeParse(officialPayload).success).toBe(true);
    const decoded = decodePaymentHeader(officialEncodePaymentSignature(officialPayload));
    expect(decoded).toStrictEqual(JSON.parse(JSON.stringify(officialPayload)));
    expect(decoded.x402Version).toBe(1);
    expect(await signatureIsValid(decoded)).toBe(true);
  });

  it('pays through the official fetch wrapper against a 402 made by our encoders', async () => {
    const ours = buildPaymentRequiredV2();
    const seen: Request[] = [];
    const settle = buildSettleResponse({ payer: account.address });
    // A local stand-in for the gateway: 402 with our headers first, then 200 with our PAYMENT-RESPONSE.
    const stubGateway: typeof fetch = async (input, init) => {
      const request = new Request(input, init);
      seen.push(request);
      if (!request.headers.has(X402_HEADERS.paymentSignature)) {
        return Response.json(buildPaymentRequiredV1(), {
          status: 402,
          headers: { [X402_HEADERS.paymentRequired]: encodePaymentRequiredHeader(ours) },
        });
      }
      return Response.json(
        { status: 'success' },
        { headers: { [X402_HEADERS.paymentResponse]: encodePaymentResponseHeader(settle) } },
      );
    };
    const client = new x402Client().register('eip155:84532', new ExactEvmScheme(account));
    const paidFetch = wrapFetchWithPayment(stubGateway, client);
    const response = await paidFetch(ours.resource.url, { method: 'POST', body: '{"prompt":"a cat"}' });

    expect(response.status).toBe(200);
    expect(seen).toHaveLength(2);
    const payment = decodePaymentHeader(seen[1]?.headers.get(X402_HEADERS.paymentSignature));
    expect(payment.x402Version === 2 && payment.accepted).toStrictEqual(ours.accepts[0]);
    expect(await signatureIsValid(payment)).toBe(true);
    expect(decodePaymentResponseHeader(response.headers.get(X402_HEADERS.paymentResponse))).toStrictEqual(
      settle,
    );
  });
});

describe('our schemas accept official facilitator and header shapes', () => {
  it('decodes a PAYMENT-RESPONSE made by the official encoder', () => {
    const official: OfficialSettleResponse = {
      success: true,
      payer: account.address,
      transaction: `0x${'cd'.repeat(32)}`,
      network: 'eip155:84532',
      amount: '40000',
      extensions: { foo: {} },
    };
    expect(decodePaymentResponseHeader(officialEncodePaymentResponse(official))).toStrictEqual(official);
  });

  it('parses the body the official HTTPFacilitatorClient posts to /verify and /settle', async () => {
    const client = new x402Client().register('eip155:84532', new ExactEvmScheme(account));
    const required = buildPaymentRequiredV2();
    const paymentPayload = await client.createPaymentPayload(required);
    // Shape of HTTPFacilitatorClient.verify/settle: { x402Version, paymentPayload, paymentRequirements }.
    const body = JSON.parse(
      JSON.stringify({
        x402Version: paymentPayload.x402Version,
        paymentPayload,
        paymentRequirements: required.accepts[0],
      }),
    );
    const parsed = FacilitatorRequest.parse(body);
    expect(parsed).toStrictEqual(body);
    expect(PaymentPayloadV2.safeParse(body.paymentPayload).success).toBe(true);
  });

  it('parses verify, settle and supported replies in the official shapes', () => {
    const verify: OfficialVerifyResponse = {
      isValid: false,
      invalidReason: 'invalid_exact_evm_payload_signature',
      invalidMessage: 'bad',
      payer: account.address,
    };
    expect(VerifyResponse.parse(verify)).toStrictEqual(verify);
    const settle: OfficialSettleResponse = {
      success: false,
      errorReason: 'insufficient_funds',
      transaction: '',
      network: 'eip155:84532',
    };
    expect(SettleResponse.parse(settle)).toStrictEqual(settle);
    const supported = {
      kinds: [
        { x402Version: 2, scheme: 'exact', network: 'eip155:84532' },
        { x402Version: 1, scheme: 'exact', network: 'base-sepolia' },
      ],
      extensions: [],
      signers: { 'eip155:*': [account.address] },
    };
    expect(SupportedResponse.parse(supported)).toStrictEqual(supported);
  });
});

describe('official v2 resource server and our codecs', () => {
  // The resource server only asks its facilitator what it supports while building requirements;
  // this in-process stand-in answers that and refuses verify/settle, which these tests never reach.
  const supportOnlyFacilitator: FacilitatorClient = {
    getSupported: async () => ({
      kinds: [{ x402Version: 2, scheme: 'exact', network: 'eip155:84532' }],
      extensions: [],
      signers: {},
    }),
    verify: async () => {
      throw new Error('verify is not part of this test');
    },
    settle: async () => {
      throw new Error('settle is not part of this test');
    },
  };

  async function officialServer() {
    const server = new x402ResourceServer(supportOnlyFacilitator).register(
      'eip155:84532',
      new ExactEvmServerScheme(),
    );
    await server.initialize();
    return server;
  }

  it('decodes the PAYMENT-REQUIRED an official server builds for $0.04', async () => {
    const server = await officialServer();
    const requirements = await server.buildPaymentRequirements({
      scheme: 'exact',
      payTo: SELLER,
      price: '$0.04',
      network: 'eip155:84532',
      maxTimeoutSeconds: 300,
    });
    const required = await server.createPaymentRequiredResponse(requirements, {
      url: 'http://127.0.0.1:4021/generate_image',
      description: 'AI image',
      mimeType: 'application/json',
    });
    const decoded = decodePaymentRequiredHeader(officialEncodePaymentRequired(required));
    expect(decoded).toStrictEqual(JSON.parse(JSON.stringify(required)));
    expect(decoded.accepts[0]).toMatchObject({
      amount: '40000',
      asset: getNetwork('base-sepolia').usdcAddress,
      extra: { name: 'USDC', version: '2' },
    });
  });

  it('matches a payment we encode against the requirements we encoded', async () => {
    const server = await officialServer();
    const required = buildPaymentRequiredV2();
    const payment = officialDecodePaymentSignature(encodePaymentHeader(buildPaymentPayloadV2()));
    expect(server.findMatchingRequirements(required.accepts, payment)).toStrictEqual(required.accepts[0]);
  });
});
