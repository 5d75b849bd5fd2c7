import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ImageGenerator, ImagingError, LocalImageGenerator } from '@agentic-payments/imaging';
import {
  createAuthorizationNonce,
  decodePaymentRequiredHeader,
  decodePaymentResponseHeader,
  encodeHeader,
  GenerateImageResponse,
} from '@agentic-payments/x402';
import { afterAll, describe, expect, it } from 'vitest';
import {
  buildPayment,
  createFakeFacilitator,
  type FakeBehaviour,
  network,
  payer,
  SELLER,
} from '../test/builders.ts';
import type { ChainReader } from './chain-reader.ts';
import { type AppConfig, createApp } from './create-app.ts';
import { createLocalImageStore } from './local-image-store.ts';
import { createMemoryLogger } from './logger.ts';
import { createMemoryPaymentStore } from './memory-payment-store.ts';
import { authorizationKey } from './payment-store.ts';
import {
  PENDING_LEASE_MS,
  type PurchaseInput,
  purchaseFingerprint,
  purchaseKey,
  SETTLING_LEASE_MS,
} from './purchase-image.ts';
import { createPurchaseLedger } from './purchase-ledger.ts';

const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

function setup(
  options: {
    behaviour?: FakeBehaviour;
    generator?: ImageGenerator;
    chain?: ChainReader;
    config?: Partial<AppConfig>;
  } = {},
) {
  const dataDir = mkdtempSync(join(tmpdir(), 'gateway-app-'));
  dirs.push(dataDir);
  const paymentStore = createMemoryPaymentStore();
  const facilitator = createFakeFacilitator(options.behaviour);
  const imageStore = createLocalImageStore({
    dataDir,
    publicUrl: 'http://localhost',
    secret: 's'.repeat(32),
  });
  const clock = { nowMs: Date.now(), now: () => clock.nowMs };
  const logger = createMemoryLogger();
  const app = createApp({
    config: {
      sellerAddress: SELLER,
      network: 'devnet',
      explorerUrl: 'http://explorer.test',
      ...options.config,
    },
    paymentStore,
    facilitator: facilitator.client,
    imageGenerator: options.generator ?? new LocalImageGenerator(),
    imageStore,
    clock,
    logger,
    chain: options.chain,
  });
  const post = (body: unknown, headers: Record<string, string> = {}) =>
    app.request('/generate_image', {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });
  return { app, post, paymentStore, facilitator, clock, logger, imageStore };
}

const body = (overrides: Record<string, unknown> = {}) => ({
  request_id: `req-${crypto.randomUUID()}`,
  prompt: 'a futuristic city at sunset',
  ...overrides,
});

/** Begins `request` under the payer's `nonce` the way another gateway instance would have. */
async function reserveAsAnotherHolder(
  paymentStore: ReturnType<typeof createMemoryPaymentStore>,
  now: number,
  request: { request_id: string; prompt: string },
  nonce: `0x${string}`,
  imageId?: string,
): Promise<string> {
  const requirements = {
    network,
    asset: network.usdcAddress,
    payTo: SELLER,
    amount: 40_000n,
    resource: '',
    description: '',
  };
  const key = purchaseKey({
    requestId: request.request_id,
    requirements,
    payment: { x402Version: 1 } as PurchaseInput['payment'],
  });
  const begun = await createPurchaseLedger(paymentStore, { retentionMs: 3_600_000 }).begin({
    key,
    requestId: request.request_id,
    fingerprint: purchaseFingerprint({
      prompt: request.prompt,
      size: '1024x1024',
      quality: 'standard',
      requirements,
    }),
    authorization: {
      key: authorizationKey({
        network: network.caip2,
        asset: network.usdcAddress,
        payer: payer.address,
        nonce,
      }),
      payer: payer.address,
      nonce,
      validBefore: String(Math.floor(now / 1000) + 300),
    },
    imageId: imageId ?? crypto.randomUUID(),
    leaseUntil: now + PENDING_LEASE_MS,
    expiresAt: now + 3_600_000,
    now,
  });
  if (begun.kind !== 'fresh') throw new Error(`expected fresh, got ${begun.kind}`);
  return key;
}

const v1Requirement = (amount: string) => ({
  scheme: 'exact',
  network: 'base-sepolia',
  maxAmountRequired: amount,
  resource: 'http://localhost/generate_image',
  description: expect.stringContaining('local-procedural'),
  mimeType: 'application/json',
  payTo: SELLER,
  maxTimeoutSeconds: 300,
  asset: network.usdcAddress,
  extra: { name: 'USDC', version: '2', chainId: 84532 },
});

describe('POST /generate_image', () => {
  describe('without a payment header', () => {
    it('answers 402 with the seed v1 body and the v2 PAYMENT-REQUIRED header', async () => {
      const { post, facilitator } = setup();
      const res = await post(body());
      expect(res.status).toBe(402);
      expect(await res.json()).toStrictEqual({
        x402Version: 1,
        error: 'payment_required',
        message: expect.any(String),
        accepts: [v1Requirement('40000')],
      });
      expect(decodePaymentRequiredHeader(res.headers.get('PAYMENT-REQUIRED'))).toStrictEqual({
        x402Version: 2,
        error: 'payment_required',
        resource: {
          url: 'http://localhost/generate_image',
          description: expect.any(String),
          mimeType: 'application/json',
        },
        accepts: [
          {
            scheme: 'exact',
            network: 'eip155:84532',
            amount: '40000',
            asset: network.usdcAddress,
            payTo: SELLER,
            maxTimeoutSeconds: 300,
            extra: { name: 'USDC', version: '2', chainId: 84532 },
          },
        ],
        extensions: {
          'payment-identifier': {
            info: { required: false },
            schema: expect.objectContaining({ type: 'object' }),
          },
        },
      });
      expect(facilitator.calls.verify).toHaveLength(0);
    });

    it('logs the 402 as the purchase step it is, not as an error', async () => {
      const { post, logger } = setup();
      await post(body());
      const line = JSON.parse(logger.lines.at(-1) ?? '{}');
      expect(line).toMatchObject({ event: 'request', level: 'info', status: 402, step: 'payment_requested' });
      expect(line).not.toHaveProperty('error');
    });

    it.each([
      ['1024x1024', 'standard', '40000'],
      ['1024x1024', 'premium', '60000'],
      ['2048x2048', 'standard', '60000'],
      ['2048x2048', 'premium', '80000'],
    ])('prices %s %s at %s atomic USDC', async (size, quality, amount) => {
      const res = await setup().post(body({ size, quality }));
      expect(
        ((await res.json()) as { accepts: [{ maxAmountRequired: string }] }).accepts[0].maxAmountRequired,
      ).toBe(amount);
    });

    it('ignores a client-supplied price', async () => {
      const res = await setup().post(body({ price: '1' }));
      expect(((await res.json()) as { accepts: unknown[] }).accepts).toStrictEqual([v1Requirement('40000')]);
    });
  });

  describe('with a valid payment', () => {
    it('verifies, generates, settles and delivers (v2, PAYMENT-RESPONSE)', async () => {
      const { post, facilitator, logger } = setup();
      const { header } = await buildPayment();
      const request = body();
      const res = await post(request, { 'PAYMENT-SIGNATURE': header });
      expect(res.status).toBe(200);
      const json = (await res.json()) as Record<string, unknown>;
      expect(json).toStrictEqual({
        status: 'payment_settled',
        request_id: request.request_id,
        image_id: expect.stringMatching(/^[0-9a-f-]{36}$/),
        message: expect.any(String),
        transaction_hash: `0x${'1'.padStart(64, '0')}`,
        payer: payer.address,
        amount: '0.04',
        atomic_amount: '40000',
        network: 'devnet',
        explorer_url: `http://explorer.test/tx/0x${'1'.padStart(64, '0')}`,
        image: { mime_type: 'image/png', base64: expect.stringMatching(/^iVBORw0KGgo/) },
        image_url: expect.stringMatching(/^http:\/\/localhost\/images\/[0-9a-f-]{36}\?exp=\d+&sig=/),
      });
      expect(decodePaymentResponseHeader(res.headers.get('PAYMENT-RESPONSE'))).toStrictEqual({
        success: true,
        transaction: `0x${'1'.padStart(64, '0')}`,
        network: 'eip155:84532',
        payer: payer.address,
      });
      expect(res.headers.get('X-PAYMENT-RESPONSE')).toBeNull();
      expect(facilitator.calls.verify).toHaveLength(1);
      expect(facilitator.calls.settle).toHaveLength(1);
      expect(facilitator.calls.settle[0]?.paymentRequirements).toMatchObject({
        amount: '40000',
        payTo: SELLER,
      });
      const settled = facilitator.calls.settle[0]?.paymentPayload as
        | { payload: { signature: string } }
        | undefined;
      const signature = settled?.payload.signature ?? 'missing';
      expect(logger.lines.join('\n')).not.toContain(signature.slice(2, 40));
      const line = JSON.parse(logger.lines.at(-1) ?? '{}');
      expect(line).toMatchObject({
        event: 'request',
        status: 200,
        request_id: request.request_id,
        price: '40000',
      });
    });

    it.each([
      ['X-PAYMENT', 'X-PAYMENT-RESPONSE'],
      ['PAYMENT-SIGNATURE', 'X-PAYMENT-RESPONSE'],
    ])('accepts a v1 payload in %s and answers %s', async (requestHeader, responseHeader) => {
      const { post, facilitator } = setup();
      const { header } = await buildPayment({ version: 1 });
      const res = await post(body(), { [requestHeader]: header });
      expect(res.status).toBe(200);
      expect(decodePaymentResponseHeader(res.headers.get(responseHeader))).toMatchObject({
        success: true,
        network: 'base-sepolia',
      });
      expect(res.headers.get('PAYMENT-RESPONSE')).toBeNull();
      expect(facilitator.calls.settle[0]?.x402Version).toBe(1);
      expect(facilitator.calls.settle[0]?.paymentRequirements).toMatchObject({ maxAmountRequired: '40000' });
    });

    it('serves the image at its signed URL and refuses a tampered or expired one', async () => {
      const { app, post, clock } = setup();
      const res = await post(body(), { 'PAYMENT-SIGNATURE': (await buildPayment()).header });
      const { image_url: url, image } = (await res.json()) as {
        image_url: string;
        image: { base64: string };
      };
      const path = url.replace('http://localhost', '');
      const ok = await app.request(path);
      expect(ok.status).toBe(200);
      expect(ok.headers.get('content-type')).toBe('image/png');
      expect(Buffer.from(await ok.arrayBuffer()).toString('base64')).toBe(image.base64);
      // A different first character of the signature (the old test flipped it to 'A', which 1 in 64
      // signatures already start with, and then it was no tampering at all).
      const tampered = await app.request(
        path.replace(/sig=(.)/, (_m, c: string) => `sig=${c === 'A' ? 'B' : 'A'}`),
      );
      expect(tampered.status).toBe(403);
      clock.nowMs += 3_600_001;
      const expired = await app.request(path);
      expect(await expired.json()).toStrictEqual({ error: 'invalid_image_url', message: expect.any(String) });
    });
  });

  describe('image delivery (the 200 must fit Lambda’s 6 MB response)', () => {
    it('sends image_url only, never the bytes, with imageDelivery url (the Lambda entry’s setting)', async () => {
      const { post } = setup({ config: { imageDelivery: 'url' } });
      const res = await post(body(), { 'PAYMENT-SIGNATURE': (await buildPayment()).header });
      expect(res.status).toBe(200);
      const json = GenerateImageResponse.parse(await res.json());
      expect(json.image).toStrictEqual({ mime_type: 'image/png' });
      expect(json.image_url).toMatch(/^http:\/\/localhost\/images\//);
    });

    it('leaves the bytes out when the answer with them would not fit the response limit', async () => {
      const { post, logger } = setup({ config: { maxResponseBytes: 20_000 } });
      const res = await post(body(), { 'PAYMENT-SIGNATURE': (await buildPayment()).header });
      expect(res.status).toBe(200);
      expect(GenerateImageResponse.parse(await res.json()).image.base64).toBeUndefined();
      expect(JSON.parse(logger.lines.at(-1) ?? '{}')).toMatchObject({ image_delivery: 'url' });
    });

    it('a replay of a settled request follows the same rule', async () => {
      const { post } = setup({ config: { imageDelivery: 'url' } });
      const request = body();
      const { header } = await buildPayment();
      await post(request, { 'PAYMENT-SIGNATURE': header });
      const again = GenerateImageResponse.parse(
        await (await post(request, { 'PAYMENT-SIGNATURE': header })).json(),
      );
      expect(again.image.base64).toBeUndefined();
      expect(again.message).toMatch(/already settled/);
    });
  });

  describe('replays', () => {
    it('returns the stored 200 for a retry of the same request and never settles twice', async () => {
      const { post, facilitator } = setup();
      const { header } = await buildPayment();
      const request = body();
      const first = await post(request, { 'PAYMENT-SIGNATURE': header });
      const second = await post(request, { 'PAYMENT-SIGNATURE': header });
      expect(second.status).toBe(200);
      const [a, b] = [
        (await first.json()) as Record<string, unknown>,
        (await second.json()) as Record<string, unknown>,
      ];
      expect({ ...b, message: a.message, image_url: a.image_url }).toStrictEqual(a);
      expect(facilitator.calls.settle).toHaveLength(1);
      // Verify (a read) starts side by side with the reservation; the retry's answer comes from the
      // stored record, so that second verify's answer is never used.
      expect(facilitator.calls.verify).toHaveLength(2);
    });

    it('returns the stored 200 when the same request is paid again with a fresh authorization', async () => {
      const { post, facilitator } = setup();
      const request = body();
      const first = await post(request, { 'PAYMENT-SIGNATURE': (await buildPayment()).header });
      const second = await post(request, { 'PAYMENT-SIGNATURE': (await buildPayment()).header });
      expect(second.status).toBe(200);
      const [a, b] = [
        (await first.json()) as Record<string, unknown>,
        (await second.json()) as Record<string, unknown>,
      ];
      expect(b.transaction_hash).toBe(a.transaction_hash);
      expect(b.image_id).toBe(a.image_id);
      expect(facilitator.calls.settle).toHaveLength(1);
      // A request id buys once (issue 13): the same id with another prompt is refused, not charged.
      const other = await post(
        { ...request, prompt: 'another picture' },
        { 'PAYMENT-SIGNATURE': (await buildPayment()).header },
      );
      expect(other.status).toBe(409);
      expect(((await other.json()) as { error: string }).error).toBe('request_id_conflict');
      expect(facilitator.calls.settle).toHaveLength(1);
    });

    it('answers 409 authorization_reused for the same authorization on another request', async () => {
      const { post, facilitator } = setup();
      const { header } = await buildPayment();
      await post(body(), { 'PAYMENT-SIGNATURE': header });
      const res = await post(body(), { 'PAYMENT-SIGNATURE': header });
      expect(res.status).toBe(409);
      expect(await res.json()).toStrictEqual({ error: 'authorization_reused', message: expect.any(String) });
      expect(facilitator.calls.settle).toHaveLength(1);
    });

    it('answers 409 for the same request id with another prompt', async () => {
      const { post } = setup();
      const { header } = await buildPayment();
      const request = body();
      await post(request, { 'PAYMENT-SIGNATURE': header });
      const res = await post({ ...request, prompt: 'something else' }, { 'PAYMENT-SIGNATURE': header });
      expect(res.status).toBe(409);
    });

    it('settles once when the same payment arrives 50 times concurrently', async () => {
      const { post, facilitator } = setup();
      facilitator.state.delayMs = 50;
      const { header } = await buildPayment();
      const request = body();
      const responses = await Promise.all(
        Array.from({ length: 50 }, () => post(request, { 'PAYMENT-SIGNATURE': header })),
      );
      const statuses = responses.map((r) => r.status);
      expect(facilitator.calls.settle).toHaveLength(1);
      expect(statuses.filter((s) => s === 200)).toHaveLength(1);
      expect(statuses.filter((s) => s === 409)).toHaveLength(49);
      const codes = await Promise.all(responses.filter((r) => r.status === 409).map((r) => r.json()));
      expect(new Set(codes.map((c) => (c as { error: string }).error))).toStrictEqual(
        new Set(['payment_in_progress']),
      );
    });
  });

  describe('rejections (402 with fresh requirements, nothing verified or settled)', () => {
    const nowSeconds = () => BigInt(Math.floor(Date.now() / 1000));
    it.each([
      ['underpayment', { value: 10_000n }, 'insufficient_payment'],
      ['overpayment', { value: 50_000n, accepted: { amount: '40000' } }, 'amount_mismatch'],
      ['accepted amount differs', { accepted: { amount: '1' } }, 'amount_mismatch'],
      ['wrong payTo', { to: '0x000000000000000000000000000000000000dEaD' as const }, 'pay_to_mismatch'],
      [
        'wrong accepted payTo',
        { accepted: { payTo: '0x000000000000000000000000000000000000dEaD' as const } },
        'pay_to_mismatch',
      ],
      [
        'wrong asset',
        { accepted: { asset: '0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913' as const } },
        'asset_mismatch',
      ],
      ['wrong network (v2)', { accepted: { network: 'eip155:8453' as const } }, 'network_mismatch'],
      ['wrong network (v1)', { version: 1 as const, v1Network: 'base' }, 'network_mismatch'],
      ['wrong chain', { accepted: { extra: { name: 'USDC', version: '2', chainId: 1 } } }, 'chain_mismatch'],
      ['expired', { validBefore: nowSeconds() - 1n }, 'authorization_expired'],
      ['expiring within the settle margin', { validBefore: nowSeconds() + 3n }, 'authorization_expired'],
      ['not yet valid', { validAfter: nowSeconds() + 60n }, 'authorization_not_yet_valid'],
      ['window too long', { validBefore: nowSeconds() + 86_400n }, 'authorization_window_too_long'],
      ['unsupported scheme', { accepted: { scheme: 'upto' as 'exact' } }, 'unsupported_scheme'],
    ])('%s → %s', async (_name, overrides, code) => {
      const { post, facilitator, paymentStore } = setup();
      const { header } = await buildPayment(overrides);
      const res = await post(body(), { 'PAYMENT-SIGNATURE': header });
      expect(res.status).toBe(402);
      expect(await res.json()).toStrictEqual({
        x402Version: 1,
        error: code,
        message: expect.any(String),
        accepts: [v1Requirement('40000')],
      });
      expect(decodePaymentRequiredHeader(res.headers.get('PAYMENT-REQUIRED')).error).toBe(code);
      expect(facilitator.calls.verify).toHaveLength(0);
      expect(paymentStore.records.size).toBe(0);
    });

    it('a low client price does not lower what must be paid', async () => {
      const { post, facilitator } = setup();
      const { header } = await buildPayment({ value: 1n, accepted: { amount: '1' } });
      const res = await post(body({ price: '0.000001' }), { 'PAYMENT-SIGNATURE': header });
      expect(res.status).toBe(402);
      expect(((await res.json()) as { error: string }).error).toBe('insufficient_payment');
      expect(facilitator.calls.settle).toHaveLength(0);
    });

    it.each([
      ['not base64', '%%%not-base64%%%', 'header_not_base64'],
      ['not JSON', Buffer.from('hello').toString('base64'), 'header_not_json'],
      ['oversized', 'A'.repeat(20_000), 'header_too_large'],
      ['wrong shape', encodeHeader({ x402Version: 2, accepted: {}, payload: {} }), 'header_invalid'],
      ['unknown version', encodeHeader({ x402Version: 7 }), 'unsupported_version'],
    ])('a header that is %s → 402 %s', async (_name, header, code) => {
      const { post, facilitator } = setup();
      const res = await post(body(), { 'PAYMENT-SIGNATURE': header });
      expect(res.status).toBe(402);
      expect(((await res.json()) as { error: string }).error).toBe(code);
      expect(facilitator.calls.verify).toHaveLength(0);
    });

    it('passes the facilitator reason through when verify refuses (bad signature)', async () => {
      const { post, facilitator, paymentStore } = setup({ behaviour: 'invalid' });
      const res = await post(body(), {
        'PAYMENT-SIGNATURE': (await buildPayment({ corruptSignature: true })).header,
      });
      expect(res.status).toBe(402);
      expect(((await res.json()) as { error: string }).error).toBe('invalid_exact_evm_signature');
      expect(facilitator.calls.settle).toHaveLength(0);
      expect(paymentStore.records.size).toBe(0);
    });
  });

  describe('bad requests (400, nothing reserved)', () => {
    it.each([
      ['an unknown field', body({ tip: 1 }), 400, 'invalid_request'],
      ['no request_id', { prompt: 'x' }, 400, 'invalid_request'],
      ['an empty prompt', body({ prompt: '' }), 400, 'invalid_request'],
      ['a blank prompt', body({ prompt: '   ' }), 400, 'invalid_request'],
      ['a 1025-character prompt', body({ prompt: 'a'.repeat(1025) }), 400, 'invalid_request'],
      ['an unknown size', body({ size: '512x512' }), 400, 'invalid_request'],
      ['an unknown quality', body({ quality: 'ultra' }), 400, 'invalid_request'],
      ['invalid JSON', '{"request_id":', 400, 'invalid_json'],
      ['a 20 kB body', body({ prompt: 'a'.repeat(20_000) }), 413, 'payload_too_large'],
    ])('%s → %i %s', async (_name, requestBody, status, code) => {
      const { post, facilitator } = setup();
      const res = await post(requestBody, { 'PAYMENT-SIGNATURE': (await buildPayment()).header });
      expect(res.status).toBe(status);
      expect(await res.json()).toStrictEqual({ error: code, message: expect.any(String) });
      expect(facilitator.calls.verify).toHaveLength(0);
    });

    it('accepts a 1024-character prompt', async () => {
      const res = await setup().post(body({ prompt: 'a'.repeat(1024) }));
      expect(res.status).toBe(402);
    });
  });

  describe('failures after verify', () => {
    it('generator failure → 502, reservation released, nothing settled', async () => {
      const failing: ImageGenerator = {
        name: 'failing',
        generate: async () => {
          throw new ImagingError('generation_failed', 'model exploded');
        },
      };
      const { post, facilitator, paymentStore } = setup({ generator: failing });
      const res = await post(body(), { 'PAYMENT-SIGNATURE': (await buildPayment()).header });
      expect(res.status).toBe(502);
      expect(await res.json()).toStrictEqual({ error: 'generation_failed', message: expect.any(String) });
      expect(facilitator.calls.settle).toHaveLength(0);
      expect(paymentStore.records.size).toBe(0);
    });

    it('facilitator unreachable → 503 facilitator_unavailable, reservation released', async () => {
      const { post, facilitator, paymentStore } = setup({ behaviour: 'down' });
      const res = await post(body(), { 'PAYMENT-SIGNATURE': (await buildPayment()).header });
      expect(res.status).toBe(503);
      expect(await res.json()).toStrictEqual({
        error: 'facilitator_unavailable',
        message: expect.any(String),
      });
      expect(facilitator.calls.settle).toHaveLength(0);
      expect(paymentStore.records.size).toBe(0);
    });

    it('settlement fails → 402 with the reason, no image, reservation released', async () => {
      const { post, paymentStore } = setup({ behaviour: 'settle-fails' });
      const res = await post(body(), { 'PAYMENT-SIGNATURE': (await buildPayment()).header });
      expect(res.status).toBe(402);
      const json = (await res.json()) as Record<string, unknown>;
      expect(json.error).toBe('invalid_exact_evm_transaction_failed');
      expect(json).not.toHaveProperty('image');
      expect(paymentStore.records.size).toBe(0);
    });

    it('settlement pending → 202 with the hash; the retry answers from the record', async () => {
      const { post, facilitator } = setup({ behaviour: 'settle-pending' });
      const { header } = await buildPayment();
      const request = body();
      const res = await post(request, { 'PAYMENT-SIGNATURE': header });
      expect(res.status).toBe(202);
      expect(res.headers.get('retry-after')).toBe('5');
      expect(await res.json()).toStrictEqual({
        error: 'settlement_pending',
        message: expect.any(String),
        transaction_hash: `0x${'1'.padStart(64, '0')}`,
        explorer_url: `http://explorer.test/tx/0x${'1'.padStart(64, '0')}`,
        retry_after_seconds: 5,
      });
      const retry = await post(request, { 'PAYMENT-SIGNATURE': header });
      expect(retry.status).toBe(202);
      expect(facilitator.calls.settle).toHaveLength(1);
    });

    it('a pending settlement that the chain confirms later is delivered on retry', async () => {
      const chain: ChainReader = {
        receiptStatus: async () => 'success',
        authorizationUsed: async () => true,
        findAuthorizationTransaction: async () => undefined,
        transferOf: async () => ({ to: SELLER, value: 40_000n }),
      };
      const { post, facilitator, clock } = setup({ behaviour: 'settle-pending', chain });
      const { header } = await buildPayment();
      const request = body();
      expect((await post(request, { 'PAYMENT-SIGNATURE': header })).status).toBe(202);
      clock.nowMs += 10_000;
      const retry = await post(request, { 'PAYMENT-SIGNATURE': header });
      expect(retry.status).toBe(200);
      expect(((await retry.json()) as { transaction_hash: string }).transaction_hash).toBe(
        `0x${'1'.padStart(64, '0')}`,
      );
      expect(facilitator.calls.settle).toHaveLength(1);
    });

    it('a settle that timed out (outcome unknown) → 504, record kept; the chain resolves the retry', async () => {
      const used = { value: false };
      const chain: ChainReader = {
        receiptStatus: async () => 'success',
        authorizationUsed: async () => used.value,
        findAuthorizationTransaction: async () => `0x${'ab'.repeat(32)}`,
        transferOf: async () => ({ to: SELLER, value: 40_000n }),
      };
      const { post, facilitator, clock, paymentStore } = setup({ behaviour: 'settle-timeout', chain });
      const { header } = await buildPayment();
      const request = body();
      const res = await post(request, { 'PAYMENT-SIGNATURE': header });
      expect(res.status).toBe(504);
      expect(((await res.json()) as { error: string }).error).toBe('settlement_pending');
      expect([...paymentStore.records.values()].find((r) => r.kind === 'purchase')?.state).toBe('settling');
      // The first settle did land after all: the retry finds it on chain and does not settle again.
      used.value = true;
      clock.nowMs += 1;
      const retry = await post(request, { 'PAYMENT-SIGNATURE': header });
      expect(retry.status).toBe(200);
      expect(((await retry.json()) as { transaction_hash: string }).transaction_hash).toBe(
        `0x${'ab'.repeat(32)}`,
      );
      expect(facilitator.calls.settle).toHaveLength(1);
    });

    it('a settle that timed out and never landed is settled again on retry', async () => {
      const chain: ChainReader = {
        receiptStatus: async () => 'success',
        authorizationUsed: async () => false,
        findAuthorizationTransaction: async () => undefined,
        transferOf: async () => ({ to: SELLER, value: 40_000n }),
      };
      const { post, facilitator, clock } = setup({ behaviour: 'settle-timeout', chain });
      const { header } = await buildPayment();
      const request = body();
      expect((await post(request, { 'PAYMENT-SIGNATURE': header })).status).toBe(504);
      facilitator.state.behaviour = 'ok';
      clock.nowMs += 1;
      const retry = await post(request, { 'PAYMENT-SIGNATURE': header });
      expect(retry.status).toBe(200);
      expect(facilitator.calls.settle).toHaveLength(2);
    });

    it('a reservation left pending by a crashed holder is taken over once its lease passed', async () => {
      const { post, facilitator, clock, paymentStore } = setup();
      const nonce = createAuthorizationNonce();
      const { header } = await buildPayment({ nonce });
      const request = body();
      // A holder reserved this purchase and died before settle (so nothing reached the chain).
      const key = await reserveAsAnotherHolder(paymentStore, clock.nowMs, request, nonce);
      const whileHeld = await post(request, { 'PAYMENT-SIGNATURE': header });
      expect(whileHeld.status).toBe(409);
      expect(((await whileHeld.json()) as { error: string }).error).toBe('payment_in_progress');
      clock.nowMs += PENDING_LEASE_MS + 1;
      const takenOver = await post(request, { 'PAYMENT-SIGNATURE': header });
      expect(takenOver.status).toBe(200);
      expect(facilitator.calls.settle).toHaveLength(1);
      expect(paymentStore.records.get(key)?.state).toBe('settled');
    });

    describe('a pending reservation whose holder died after storing the image (settle may have run)', () => {
      const imageId = '0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d';
      const storedPng = new Uint8Array([137, 80, 78, 71, 13, 10, 26, 10, 1, 2, 3]);

      async function crashedAfterImage(chain: ChainReader, storeImage = true) {
        let generated = 0;
        const local = new LocalImageGenerator();
        const generator: ImageGenerator = {
          name: local.name,
          generate: (req, opts) => {
            generated++;
            return local.generate(req, opts);
          },
        };
        const fixture = setup({ chain, generator });
        const nonce = createAuthorizationNonce();
        const { header } = await buildPayment({ nonce });
        const request = body();
        const key = await reserveAsAnotherHolder(
          fixture.paymentStore,
          fixture.clock.nowMs,
          request,
          nonce,
          imageId,
        );
        if (storeImage) await fixture.imageStore.put(imageId, { bytes: storedPng, mimeType: 'image/png' });
        fixture.clock.nowMs += PENDING_LEASE_MS + 1;
        const res = await fixture.post(request, { 'PAYMENT-SIGNATURE': header });
        return { ...fixture, res, key, generated: () => generated };
      }

      it('is resolved from the chain when the authorization was used: delivered, not settled again', async () => {
        const tx = `0x${'cd'.repeat(32)}`;
        const { res, facilitator, paymentStore, key, generated } = await crashedAfterImage({
          receiptStatus: async () => 'success',
          authorizationUsed: async () => true,
          findAuthorizationTransaction: async () => tx as `0x${string}`,
          transferOf: async () => ({ to: SELLER, value: 40_000n }),
        });
        expect(res.status).toBe(200);
        const json = (await res.json()) as {
          transaction_hash: string;
          image_id: string;
          image: { base64: string };
        };
        expect([json.transaction_hash, json.image_id, json.image.base64]).toStrictEqual([
          tx,
          imageId,
          Buffer.from(storedPng).toString('base64'),
        ]);
        expect(facilitator.calls.settle).toHaveLength(0);
        expect(generated()).toBe(0);
        expect(paymentStore.records.get(key)?.state).toBe('settled');
      });

      it('is settled once with the stored image when the chain shows the authorization unused', async () => {
        const { res, facilitator, generated } = await crashedAfterImage({
          receiptStatus: async () => 'success',
          authorizationUsed: async () => false,
          findAuthorizationTransaction: async () => undefined,
          transferOf: async () => ({ to: SELLER, value: 40_000n }),
        });
        expect(res.status).toBe(200);
        const json = (await res.json()) as { image_id: string; image: { base64: string } };
        expect([json.image_id, json.image.base64]).toStrictEqual([
          imageId,
          Buffer.from(storedPng).toString('base64'),
        ]);
        expect(facilitator.calls.settle).toHaveLength(1);
        expect(generated()).toBe(0);
      });

      it('is taken over (verify, generate, settle) when its image was never stored', async () => {
        const { res, facilitator, generated } = await crashedAfterImage(
          {
            receiptStatus: async () => 'success',
            // Would deliver without a settle if it were (wrongly) consulted.
            authorizationUsed: async () => true,
            findAuthorizationTransaction: async () => `0x${'ef'.repeat(32)}`,
            transferOf: async () => ({ to: SELLER, value: 40_000n }),
          },
          false,
        );
        expect(res.status).toBe(200);
        expect(((await res.json()) as { image_id: string }).image_id).toBe(imageId);
        expect(generated()).toBe(1);
        expect(facilitator.calls.settle).toHaveLength(1);
      });
    });

    describe('the receipt writes after a settlement', () => {
      it('that fail are logged; the charged purchase is still delivered', async () => {
        const { post, paymentStore, logger, facilitator } = setup();
        paymentStore.put = async () => {
          throw new Error('store unavailable (test)');
        };
        const res = await post(body(), { 'PAYMENT-SIGNATURE': (await buildPayment()).header });
        expect(res.status).toBe(200);
        expect(((await res.json()) as { status: string }).status).toBe('payment_settled');
        expect(facilitator.calls.settle).toHaveLength(1);
        expect(logger.lines.filter((l) => l.includes('"event":"settled_record_not_saved"'))).toHaveLength(1);
      });
    });

    describe('when generation takes long enough to eat into the reservation lease', () => {
      /** The store writes of a purchase after `begin`: conditional replaces (by state) and `complete`'s put. */
      function recordTransitions(paymentStore: ReturnType<typeof setup>['paymentStore']) {
        const writes: string[] = [];
        const replace = paymentStore.replace.bind(paymentStore);
        paymentStore.replace = async (record, expectedVersion) => {
          writes.push(record.state);
          return replace(record, expectedVersion);
        };
        const put = paymentStore.put.bind(paymentStore);
        paymentStore.put = async (record) => {
          writes.push('complete');
          return put(record);
        };
        return writes;
      }

      it('settles with a single write (both settled records) while the lease has room', async () => {
        const { post, paymentStore, facilitator } = setup();
        const states = recordTransitions(paymentStore);
        const res = await post(body(), { 'PAYMENT-SIGNATURE': (await buildPayment()).header });
        expect(res.status).toBe(200);
        expect(facilitator.calls.settle).toHaveLength(1);
        expect(states).toStrictEqual(['complete']);
      });

      it('renews the lease (conditionally) before settling', async () => {
        const fixture = { clock: undefined as { nowMs: number } | undefined };
        const local = new LocalImageGenerator();
        const slow: ImageGenerator = {
          name: local.name,
          generate: async (req, opts) => {
            if (fixture.clock) fixture.clock.nowMs += PENDING_LEASE_MS - SETTLING_LEASE_MS + 1_000;
            return local.generate(req, opts);
          },
        };
        const { post, clock, paymentStore, facilitator } = setup({ generator: slow });
        fixture.clock = clock;
        const states = recordTransitions(paymentStore);
        const res = await post(body(), { 'PAYMENT-SIGNATURE': (await buildPayment()).header });
        expect(res.status).toBe(200);
        expect(facilitator.calls.settle).toHaveLength(1);
        expect(states).toStrictEqual(['pending', 'complete']);
      });

      it('does not settle when another request took the purchase over meanwhile (409)', async () => {
        const hook = { during: async () => {} };
        const local = new LocalImageGenerator();
        const slow: ImageGenerator = {
          name: local.name,
          generate: async (req, opts) => {
            await hook.during();
            return local.generate(req, opts);
          },
        };
        const { post, clock, paymentStore, facilitator } = setup({ generator: slow });
        hook.during = async () => {
          // Our lease passes and another instance takes the record over (a new lease).
          clock.nowMs += PENDING_LEASE_MS + 1;
          const record = [...paymentStore.records.values()].find((r) => r.kind === 'purchase');
          if (!record) throw new Error('no record');
          await paymentStore.replace(
            {
              ...record,
              version: record.version + 1,
              holder: 'another',
              leaseUntil: clock.nowMs + PENDING_LEASE_MS,
            },
            record.version,
          );
        };
        const res = await post(body(), { 'PAYMENT-SIGNATURE': (await buildPayment()).header });
        expect(res.status).toBe(409);
        expect(((await res.json()) as { error: string }).error).toBe('payment_in_progress');
        expect(facilitator.calls.settle).toHaveLength(0);
      });
    });
  });
});

describe('GET /health and CORS', () => {
  it('answers health', async () => {
    const res = await setup().app.request('/health');
    expect(await res.json()).toStrictEqual({
      status: 'ok',
      service: 'gateway',
      network: 'devnet',
      generator: 'local-procedural',
    });
  });

  it('exposes the x402 headers to browsers', async () => {
    const res = await setup().post(body(), { origin: 'http://localhost:5173' });
    expect(res.headers.get('access-control-expose-headers')).toBe(
      'PAYMENT-REQUIRED,PAYMENT-RESPONSE,X-PAYMENT-RESPONSE',
    );
  });

  it('answers a preflight with 204, the methods and the x402 request headers', async () => {
    const res = await setup().app.request('/generate_image', {
      method: 'OPTIONS',
      headers: {
        origin: 'http://localhost:5173',
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'content-type,payment-signature',
      },
    });
    expect(res.status).toBe(204);
    expect(res.headers.get('access-control-allow-origin')).toBe('*');
    expect(res.headers.get('access-control-allow-methods')).toBe('GET,POST,OPTIONS');
    expect(res.headers.get('access-control-allow-headers')).toBe('Content-Type,PAYMENT-SIGNATURE,X-PAYMENT');
    expect(res.headers.get('access-control-expose-headers')).toBe(
      'PAYMENT-REQUIRED,PAYMENT-RESPONSE,X-PAYMENT-RESPONSE',
    );
  });

  it('allows any origin on every answer (a paid 200, a 404, a 500) with its own headers kept', async () => {
    const { post, app, paymentStore } = setup();
    const paid = await post(body(), { 'PAYMENT-SIGNATURE': (await buildPayment()).header });
    expect(paid.status).toBe(200);
    expect(paid.headers.get('access-control-allow-origin')).toBe('*');
    expect(paid.headers.get('payment-response')).toBeTruthy();
    expect(paid.headers.get('content-type')).toMatch(/^application\/json/);
    const missing = await app.request('/nope');
    expect(missing.headers.get('access-control-allow-origin')).toBe('*');
    paymentStore.create = async () => {
      throw new Error('broken');
    };
    const failed = await post(body(), { 'PAYMENT-SIGNATURE': (await buildPayment()).header });
    expect(failed.status).toBe(500);
    expect(failed.headers.get('access-control-allow-origin')).toBe('*');
    expect(failed.headers.get('access-control-expose-headers')).toContain('PAYMENT-RESPONSE');
  });

  it('answers a channel’s transactions with 404 not_found while batch-settlement is off', async () => {
    const res = await setup().app.request(`/channels/0x${'ab'.repeat(32)}/transactions`);
    expect(res.status).toBe(404);
    expect(await res.json()).toMatchObject({ error: 'not_found' });
  });

  it('answers unknown routes with 404 not_found', async () => {
    const res = await setup().app.request('/nope');
    expect(await res.json()).toStrictEqual({ error: 'not_found', message: 'not found' });
  });

  it('turns an unknown fault into a 500 that leaks nothing', async () => {
    const { post, logger, paymentStore } = setup();
    paymentStore.create = async () => {
      throw new Error('table arn:aws:dynamodb:secret-detail is broken');
    };
    const res = await post(body(), { 'PAYMENT-SIGNATURE': (await buildPayment()).header });
    expect(res.status).toBe(500);
    const text = await res.text();
    expect(JSON.parse(text)).toStrictEqual({ error: 'internal_error', message: 'internal error' });
    expect(text).not.toContain('secret-detail');
    expect(logger.lines.some((l) => l.includes('unhandled_error'))).toBe(true);
  });
});
