/**
 * The purchase rules of issue 13 (and the deadline of issue 14), each over HTTP through `createApp`
 * so that the same file also runs against the code before the purchase ledger.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ImageGenerator, LocalImageGenerator } from '@agentic-payments/imaging';
import { encodeHeader } from '@agentic-payments/x402';
import { afterAll, describe, expect, it } from 'vitest';
import { buildPayment, createFakeFacilitator, SELLER } from '../test/builders.ts';
import type { ChainReader } from './chain-reader.ts';
import { createApp } from './create-app.ts';
import { createLocalImageStore } from './local-image-store.ts';
import { createMemoryLogger } from './logger.ts';
import { createMemoryPaymentStore } from './memory-payment-store.ts';

const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

function setup(
  options: {
    chain?: ChainReader;
    generator?: ImageGenerator;
    deadline?: { requestMs: number; settleReserveMs: number };
  } = {},
) {
  const dataDir = mkdtempSync(join(tmpdir(), 'gateway-purchase-'));
  dirs.push(dataDir);
  const facilitator = createFakeFacilitator();
  const clock = { nowMs: Date.now(), now: () => clock.nowMs };
  const app = createApp({
    config: { sellerAddress: SELLER, network: 'devnet' },
    paymentStore: createMemoryPaymentStore(),
    facilitator: facilitator.client,
    imageGenerator: options.generator ?? new LocalImageGenerator(),
    imageStore: createLocalImageStore({ dataDir, publicUrl: 'http://localhost', secret: 's'.repeat(32) }),
    clock,
    logger: createMemoryLogger(),
    chain: options.chain,
    ...(options.deadline === undefined ? {} : { deadline: options.deadline }),
  } as Parameters<typeof createApp>[0]);
  const post = (body: unknown, header: string) =>
    app.request('/generate_image', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'PAYMENT-SIGNATURE': header },
      body: JSON.stringify(body),
    });
  return { post, facilitator, clock };
}

const body = () => ({ request_id: `req-${crypto.randomUUID()}`, prompt: 'a lighthouse in fog' });
const json = async (res: Response) => (await res.json()) as Record<string, unknown>;

/** A chain that shows `transaction` as the authorization's transfer of 0.04 USDC to the seller. */
function chainWithTransfer(transaction: `0x${string}`, used = { value: true }): ChainReader {
  return {
    receiptStatus: async () => 'success',
    authorizationUsed: async () => used.value,
    findAuthorizationTransaction: async () => (used.value ? transaction : undefined),
    transferOf: async () => ({ to: SELLER, value: 40_000n }),
  };
}

describe('purchase rules', () => {
  it('no stored content for a repeat purchase whose payment signature is not valid (names the payer only)', async () => {
    const { post } = setup();
    const request = body();
    expect((await post(request, (await buildPayment()).header)).status).toBe(200);
    const forged = await buildPayment({ corruptSignature: true });
    const res = await post(request, forged.header);
    expect(res.status).toBe(402);
    const answer = await json(res);
    expect(answer.image).toBeUndefined();
    expect(answer.image_url).toBeUndefined();
    expect(answer.error).toBe('invalid_exact_evm_signature');
  });

  it('one charge per request id: concurrent purchases with different valid authorizations settle once', async () => {
    const { post, facilitator } = setup();
    facilitator.state.delayMs = 50;
    const request = body();
    const payments = await Promise.all(Array.from({ length: 5 }, () => buildPayment()));
    const answers = await Promise.all(payments.map((p) => post(request, p.header)));
    expect(facilitator.calls.settle).toHaveLength(1);
    const statuses = answers.map((r) => r.status);
    expect(statuses.filter((s) => s === 200)).toHaveLength(1);
    expect(statuses.every((s) => s === 200 || s === 409)).toBe(true);
  });

  it('an authorization settled by someone else as this purchase’s transfer is delivered once and recorded', async () => {
    const tx = `0x${'5e'.repeat(32)}` as const;
    const { post, facilitator } = setup({ chain: chainWithTransfer(tx) });
    facilitator.client.verify = async () => ({
      isValid: false,
      invalidReason: 'authorization_already_used',
      payer: SELLER,
    });
    const request = body();
    const { header } = await buildPayment();
    const res = await post(request, header);
    expect(res.status).toBe(200);
    expect((await json(res)).transaction_hash).toBe(tx);
    expect(facilitator.calls.settle).toHaveLength(0);
    // Recorded: the retry is answered from the ledger, and the authorization buys nothing else.
    const retry = await post(request, header);
    expect([retry.status, (await json(retry)).transaction_hash]).toStrictEqual([200, tx]);
    expect((await post(body(), header)).status).toBe(409);
  });

  it('honours the x402 payment-identifier extension as the idempotency key', async () => {
    const { post, facilitator } = setup();
    const prompt = 'a lighthouse in fog';
    const withIdentifier = async () => {
      const { payload } = await buildPayment();
      const extended = {
        ...(payload as Record<string, unknown>),
        extensions: { 'payment-identifier': { info: { required: false, id: 'pay_0123456789abcdef0123' } } },
      };
      return encodeHeader(extended);
    };
    const first = await post({ request_id: `req-${crypto.randomUUID()}`, prompt }, await withIdentifier());
    const second = await post({ request_id: `req-${crypto.randomUUID()}`, prompt }, await withIdentifier());
    expect([first.status, second.status]).toStrictEqual([200, 200]);
    expect((await json(second)).transaction_hash).toBe((await json(first)).transaction_hash);
    expect(facilitator.calls.settle).toHaveLength(1);
  });

  it('settlement outcome unknown → settlement_pending on the retry too (never a fresh 402); content once the chain confirms', async () => {
    const tx = `0x${'7a'.repeat(32)}` as const;
    const used = { value: false };
    const { post, facilitator, clock } = setup({ chain: chainWithTransfer(tx, used) });
    facilitator.state.behaviour = 'settle-timeout';
    const request = body();
    const { header } = await buildPayment();
    const first = await post(request, header);
    expect([first.status, (await json(first)).error]).toStrictEqual([504, 'settlement_pending']);
    expect(first.headers.get('retry-after')).not.toBeNull();
    // The first settle is still in flight: a re-sent settle is refused, the chain shows nothing yet.
    facilitator.state.behaviour = 'settle-fails';
    clock.nowMs += 1;
    const retry = await post(request, header);
    expect(retry.status).not.toBe(402);
    expect((await json(retry)).error).toBe('settlement_pending');
    // The chain confirms: the next retry delivers, without another settle.
    used.value = true;
    const settles = facilitator.calls.settle.length;
    const last = await post(request, header);
    expect([last.status, (await json(last)).transaction_hash]).toStrictEqual([200, tx]);
    expect(facilitator.calls.settle).toHaveLength(settles);
  });
});

describe('request deadline', () => {
  it('generation past its budget → 504 generation_timeout before any settlement', async () => {
    const local = new LocalImageGenerator();
    const slow: ImageGenerator = {
      name: local.name,
      generate: async (req, opts) => {
        await new Promise((resolve) => setTimeout(resolve, 1_500));
        return local.generate(req, opts);
      },
    };
    const { post, facilitator } = setup({
      generator: slow,
      deadline: { requestMs: 600, settleReserveMs: 300 },
    });
    const started = Date.now();
    const res = await post(body(), (await buildPayment()).header);
    expect([res.status, (await json(res)).error]).toStrictEqual([504, 'generation_timeout']);
    expect(Date.now() - started).toBeLessThan(1_400);
    expect(facilitator.calls.settle).toHaveLength(0);
  });

  it('a settlement unanswered at the deadline → settlement_pending with Retry-After, never a fresh 402', async () => {
    const { post, facilitator } = setup({ deadline: { requestMs: 700, settleReserveMs: 300 } });
    facilitator.state.delayMs = 2_000;
    const started = Date.now();
    const res = await post(body(), (await buildPayment()).header);
    expect(Date.now() - started).toBeLessThan(1_500);
    expect([res.status, (await json(res)).error]).toStrictEqual([504, 'settlement_pending']);
    expect(res.headers.get('retry-after')).toBe('5');
  });
});
