import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ImageGenerator, ImagingError, LocalImageGenerator } from '@agentic-payments/imaging';
import { encodeHeader, getNetwork } from '@agentic-payments/x402';
import type { PaymentRequirements } from '@x402/core/types';
import { toClientEvmSigner } from '@x402/evm';
import {
  computeChannelId,
  createBatchSettlementEIP3009DepositPayload,
  signVoucher,
} from '@x402/evm/batch-settlement/client';
import type { Hex } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { afterAll, describe, expect, it } from 'vitest';
import { createChannelPayments } from './channel-payments.ts';
import { createChannelStorage } from './channel-storage.ts';
import { createApp } from './create-app.ts';
import type { FacilitatorClient, FacilitatorRequest } from './facilitator-client.ts';
import type { ImageStore } from './image-store.ts';
import { createLocalImageStore } from './local-image-store.ts';
import { createMemoryLogger } from './logger.ts';
import { createMemoryPaymentStore } from './memory-payment-store.ts';
import { PENDING_LEASE_MS } from './purchase-image.ts';

const network = getNetwork('devnet');
const SELLER = '0x90F79bf6EB2c4f870365E785982E1f101E93b906' as const;
const AUTHORIZER = privateKeyToAccount(generatePrivateKey()).address;
const PRICE = 40_000n;
const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

/**
 * A facilitator stand-in for the batch-settlement calls (the real one runs in
 * test/batch-settlement.devnet.test.ts): it lists the scheme with a receiver authorizer, accepts a
 * deposit at /verify with the chain's pre-deposit state, and settles it. It records every call, so
 * a test can see that vouchers never reach it (verified locally) and that nothing was sent.
 */
function fakeFacilitator() {
  const calls: { verify: FacilitatorRequest[]; settle: FacilitatorRequest[] } = { verify: [], settle: [] };
  const client: FacilitatorClient = {
    async supported() {
      return {
        kinds: [
          { x402Version: 2, scheme: 'exact', network: network.caip2 },
          {
            x402Version: 2,
            scheme: 'batch-settlement',
            network: network.caip2,
            extra: { receiverAuthorizer: AUTHORIZER },
          },
        ],
        extensions: [],
        signers: {},
      };
    },
    async verify(request) {
      calls.verify.push(request);
      const payload = (request.paymentPayload as { payload: { voucher: { channelId: string } } }).payload;
      return {
        isValid: true,
        payer: '0x0000000000000000000000000000000000000001',
        extra: {
          channelId: payload.voucher.channelId,
          balance: '0',
          totalClaimed: '0',
          withdrawRequestedAt: 0,
          refundNonce: '0',
        },
      };
    },
    async settle(request) {
      calls.settle.push(request);
      const payload = (
        request.paymentPayload as { payload: { voucher: { channelId: string }; deposit: { amount: string } } }
      ).payload;
      return {
        success: true,
        transaction: `0x${calls.settle.length.toString(16).padStart(64, '0')}`,
        network: network.caip2,
        amount: payload.deposit.amount,
        extra: {
          channelState: {
            channelId: payload.voucher.channelId,
            balance: payload.deposit.amount,
            totalClaimed: '0',
            withdrawRequestedAt: 0,
            refundNonce: '0',
          },
        },
      };
    },
  };
  return { client, calls };
}

function setup(options: { generator?: ImageGenerator; imageStore?: (store: ImageStore) => ImageStore } = {}) {
  const dataDir = mkdtempSync(join(tmpdir(), 'gateway-channel-'));
  dirs.push(dataDir);
  const paymentStore = createMemoryPaymentStore();
  const facilitator = fakeFacilitator();
  const logger = createMemoryLogger();
  const clock = { offsetMs: 0, now: () => Date.now() + clock.offsetMs };
  const storage = createChannelStorage(paymentStore);
  const channels = createChannelPayments({
    storage,
    facilitator: facilitator.client,
    payTo: SELLER,
    network,
    asset: network.usdcAddress,
    logger,
  });
  const app = createApp({
    config: { sellerAddress: SELLER, network: 'devnet', explorerUrl: 'http://explorer.test' },
    paymentStore,
    facilitator: facilitator.client,
    imageGenerator: options.generator ?? new LocalImageGenerator(),
    imageStore: (options.imageStore ?? ((store) => store))(
      createLocalImageStore({ dataDir, publicUrl: 'http://localhost', secret: 's'.repeat(32) }),
    ),
    clock,
    logger,
    channels,
  });
  const post = (requestId: string, header?: string) =>
    app.request('/generate_image', {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        ...(header === undefined ? {} : { 'payment-signature': header }),
      },
      body: JSON.stringify({ request_id: requestId, prompt: `image ${requestId}` }),
    });
  return { app, post, storage, facilitator, paymentStore, clock };
}

/** The JSON answer of the gateway (the fields these tests read). */
const answer = async (response: Response) =>
  (await response.json()) as { error?: string; image_id?: string; accepts?: { scheme: string }[] };
const decode = (header: string | null) => JSON.parse(Buffer.from(header ?? '', 'base64').toString('utf8'));

/** The 402's batch-settlement entry (what the official client signs against). */
async function offerOf(post: ReturnType<typeof setup>['post']): Promise<PaymentRequirements> {
  const quote = await post('quote');
  const accepts = decode(quote.headers.get('payment-required')).accepts as PaymentRequirements[];
  const offer = accepts.find((a) => a.scheme === 'batch-settlement');
  if (offer === undefined) throw new Error('no batch-settlement offer');
  return offer;
}

/** A payer with its channel, signing payloads as the official client does. */
function channelPayer(offer: PaymentRequirements, overrides: { receiver?: `0x${string}` } = {}) {
  const account = privateKeyToAccount(generatePrivateKey());
  const signer = toClientEvmSigner(account);
  const config = {
    payer: account.address,
    payerAuthorizer: account.address,
    receiver: overrides.receiver ?? SELLER,
    receiverAuthorizer: AUTHORIZER,
    token: network.usdcAddress,
    withdrawDelay: 900,
    salt: `0x${'00'.repeat(32)}` as Hex,
  };
  const channelId = computeChannelId(config, network.caip2);
  const envelope = (payload: Record<string, unknown>) =>
    encodeHeader({ x402Version: 2, accepted: offer, payload });
  return {
    account,
    config,
    channelId,
    async deposit(amount: bigint, cumulative: bigint) {
      const result = await createBatchSettlementEIP3009DepositPayload(
        signer,
        2,
        offer,
        config,
        amount.toString(),
        cumulative.toString(),
      );
      return encodeHeader({ x402Version: 2, accepted: offer, payload: result.payload });
    },
    async voucher(cumulative: bigint, options: { by?: typeof signer; channelId?: Hex } = {}) {
      const voucher = await signVoucher(
        options.by ?? signer,
        channelId,
        cumulative.toString(),
        network.caip2,
      );
      return envelope({
        type: 'voucher',
        channelConfig: config,
        voucher: { ...voucher, ...(options.channelId === undefined ? {} : { channelId: options.channelId }) },
      });
    },
  };
}

describe('batch-settlement through the gateway (official server scheme over the payment store)', () => {
  it('offers exact and batch-settlement, the latter with the spec’s extra fields', async () => {
    const { post } = setup();
    const quote = await post('quote');
    expect(quote.status).toBe(402);
    const offered = decode(quote.headers.get('payment-required'));
    expect(offered.accepts[1]).toStrictEqual({
      scheme: 'batch-settlement',
      network: network.caip2,
      amount: PRICE.toString(),
      asset: network.usdcAddress,
      payTo: SELLER,
      maxTimeoutSeconds: 300,
      extra: {
        name: 'USDC',
        version: '2',
        receiverAuthorizer: AUTHORIZER,
        withdrawDelay: 900,
        minDeposit: (10n * PRICE).toString(),
      },
    });
    // The seed's v1 body keeps offering exact only (batch-settlement has no v1 form).
    expect((await answer(quote)).accepts?.map((a) => a.scheme)).toStrictEqual(['exact']);
  });

  it('opens the channel with a deposit through the facilitator, then verifies vouchers locally (no facilitator call)', async () => {
    const { post, storage, facilitator } = setup();
    const payer = channelPayer(await offerOf(post));
    const first = await post('r0', await payer.deposit(10n * PRICE, PRICE));
    expect(first.status).toBe(200);
    expect(await first.json()).toMatchObject({
      status: 'payment_charged',
      scheme: 'batch-settlement',
      charged_cumulative_amount: PRICE.toString(),
      deposit_transaction_hash: `0x${'1'.padStart(64, '0')}`,
    });
    for (let i = 2; i <= 4; i++) {
      const paid = await post(`r${i}`, await payer.voucher(BigInt(i) * PRICE));
      expect(paid.status).toBe(200);
      const response = decode(paid.headers.get('payment-response'));
      expect(response).toMatchObject({
        success: true,
        transaction: '',
        extra: {
          chargedAmount: PRICE.toString(),
          channelState: { chargedCumulativeAmount: (BigInt(i) * PRICE).toString() },
        },
      });
    }
    expect(facilitator.calls.verify).toHaveLength(1); // the deposit only
    expect(facilitator.calls.settle).toHaveLength(1);
    expect((await storage.get(payer.channelId))?.chargedCumulativeAmount).toBe((4n * PRICE).toString());
  });

  describe('every bad voucher gets a 402 with a stable code and changes nothing', () => {
    const cases: Array<[string, (p: ReturnType<typeof channelPayer>) => Promise<string>, string]> = [
      [
        'a stale voucher (the last one again)',
        (p) => p.voucher(PRICE),
        'invalid_batch_settlement_evm_cumulative_amount_mismatch',
      ],
      [
        'a voucher over the next ceiling',
        (p) => p.voucher(3n * PRICE),
        'invalid_batch_settlement_evm_cumulative_amount_mismatch',
      ],
      [
        'a voucher signed by another key',
        (p) => p.voucher(2n * PRICE, { by: toClientEvmSigner(privateKeyToAccount(generatePrivateKey())) }),
        'invalid_batch_settlement_evm_voucher_signature',
      ],
      [
        'a voucher for another channel id than its config',
        (p) => p.voucher(2n * PRICE, { channelId: `0x${'ab'.repeat(32)}` }),
        'invalid_batch_settlement_evm_channel_id_mismatch',
      ],
      [
        'a voucher beyond the deposit',
        async (p) => {
          // Deposit covered 2 × price: the third image is more than the channel holds.
          return p.voucher(2n * PRICE);
        },
        'invalid_batch_settlement_evm_cumulative_exceeds_balance',
      ],
    ];
    it.each(cases)('%s', async (name, build, code) => {
      const { post, storage, facilitator, paymentStore } = setup();
      const payer = channelPayer(await offerOf(post));
      const deposit = name === 'a voucher beyond the deposit' ? PRICE + PRICE / 2n : 10n * PRICE;
      expect((await post('r0', await payer.deposit(deposit, PRICE))).status).toBe(200);
      const before = await storage.get(payer.channelId);
      const calls = facilitator.calls.verify.length + facilitator.calls.settle.length;
      const refused = await post('r1', await build(payer));
      expect(refused.status).toBe(402);
      expect((await answer(refused)).error).toBe(code);
      const after = await storage.get(payer.channelId);
      expect(after).toStrictEqual(before);
      expect(facilitator.calls.verify.length + facilitator.calls.settle.length).toBe(calls);
      expect(
        await paymentStore.get(
          'purchase:eip155:84532:0x90f79bf6eb2c4f870365e785982e1f101e93b906:request:r1',
          Date.now(),
        ),
      ).toBeUndefined();
    });

    it('a voucher from a channel paying another receiver: pay_to_mismatch', async () => {
      const { post, storage } = setup();
      const offer = await offerOf(post);
      const other = channelPayer(offer, { receiver: privateKeyToAccount(generatePrivateKey()).address });
      const refused = await post('r1', await other.voucher(PRICE));
      expect(refused.status).toBe(402);
      expect((await answer(refused)).error).toBe('pay_to_mismatch');
      expect(await storage.list()).toStrictEqual([]);
    });
  });

  it('answers a stale voucher with the spec’s corrective 402 (channelState and the last signed voucher)', async () => {
    const { post } = setup();
    const payer = channelPayer(await offerOf(post));
    expect((await post('r0', await payer.deposit(10n * PRICE, PRICE))).status).toBe(200);
    const stale = await post('r1', await payer.voucher(PRICE));
    const corrective = decode(stale.headers.get('payment-required'));
    expect(corrective.error).toBe('invalid_batch_settlement_evm_cumulative_amount_mismatch');
    const entry = corrective.accepts.find((a: { scheme: string }) => a.scheme === 'batch-settlement');
    expect(entry.extra.channelState).toStrictEqual({
      channelId: payer.channelId,
      balance: (10n * PRICE).toString(),
      totalClaimed: '0',
      withdrawRequestedAt: 0,
      refundNonce: '0',
      chargedCumulativeAmount: PRICE.toString(),
    });
    expect(entry.extra.voucherState.signedMaxClaimable).toBe(PRICE.toString());
    expect(entry.extra.voucherState.signature).toMatch(/^0x[0-9a-f]{130}$/);
  });

  it('a failed generation charges nothing and leaves the same voucher usable', async () => {
    let fail = false;
    const local = new LocalImageGenerator();
    const generator: ImageGenerator = {
      name: local.name,
      generate: (request, options) => {
        if (fail) throw new ImagingError('generation_failed', 'fails on purpose');
        return local.generate(request, options);
      },
    };
    const { post, storage } = setup({ generator });
    const payer = channelPayer(await offerOf(post));
    expect((await post('r0', await payer.deposit(10n * PRICE, PRICE))).status).toBe(200);
    const voucher = await payer.voucher(2n * PRICE);
    fail = true;
    expect((await post('r1', voucher)).status).toBe(502);
    const after = await storage.get(payer.channelId);
    expect(after?.chargedCumulativeAmount).toBe(PRICE.toString());
    expect(after?.pendingRequest).toBeUndefined();
    fail = false;
    expect((await post('r1', voucher)).status).toBe(200);
    expect((await storage.get(payer.channelId))?.chargedCumulativeAmount).toBe((2n * PRICE).toString());
  });

  it('a request id buys once: a retry with its (now stale) voucher gets the stored image, no second charge', async () => {
    const { post, storage } = setup();
    const payer = channelPayer(await offerOf(post));
    expect((await post('r0', await payer.deposit(10n * PRICE, PRICE))).status).toBe(200);
    const voucher = await payer.voucher(2n * PRICE);
    const first = await post('r1', voucher);
    expect(first.status).toBe(200);
    const firstBody = await answer(first);
    const retry = await post('r1', voucher);
    expect(retry.status).toBe(200);
    expect(await retry.json()).toMatchObject({ image_id: firstBody.image_id, request_id: 'r1' });
    expect((await storage.get(payer.channelId))?.chargedCumulativeAmount).toBe((2n * PRICE).toString());
  });

  it('serializes one channel: a second request while the first holds it gets channel_busy; one charge', async () => {
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    let held = false;
    const local = new LocalImageGenerator();
    const generator: ImageGenerator = {
      name: local.name,
      generate: async (request, options) => {
        if (held) await gate;
        return local.generate(request, options);
      },
    };
    const { post, storage } = setup({ generator });
    const payer = channelPayer(await offerOf(post));
    expect((await post('r0', await payer.deposit(10n * PRICE, PRICE))).status).toBe(200);
    const voucher = await payer.voucher(2n * PRICE);
    held = true;
    const first = post('r1', voucher);
    // Wait until the first request holds the channel (its reservation is in the store).
    while ((await storage.get(payer.channelId))?.pendingRequest === undefined)
      await new Promise((r) => setTimeout(r, 5));
    const second = await post('r2', voucher);
    expect(second.status).toBe(402);
    expect((await answer(second)).error).toBe('invalid_batch_settlement_evm_channel_busy');
    release();
    expect((await first).status).toBe(200);
    expect((await storage.get(payer.channelId))?.chargedCumulativeAmount).toBe((2n * PRICE).toString());
  });

  it('a holder that dies between storing the image and committing the charge: the retry charges once, with the stored image', async () => {
    let dying = false;
    let stored = false;
    let generations = 0;
    const local = new LocalImageGenerator();
    const generator: ImageGenerator = {
      name: local.name,
      generate: (request, options) => {
        generations += 1;
        return local.generate(request, options);
      },
    };
    // The "dead" request stores its image and never comes back (as after a kill -9).
    const { post, storage, clock } = setup({
      generator,
      imageStore: (store) => ({
        ...store,
        put: async (id, image) => {
          const die = dying;
          await store.put(id, image);
          if (die) {
            stored = true;
            await new Promise(() => {});
          }
        },
      }),
    });
    const payer = channelPayer(await offerOf(post));
    expect((await post('r0', await payer.deposit(10n * PRICE, PRICE))).status).toBe(200);
    const voucher = await payer.voucher(2n * PRICE);
    dying = true;
    void post('r1', voucher);
    while (!stored) await new Promise((r) => setTimeout(r, 5));
    expect((await storage.get(payer.channelId))?.pendingRequest).toBeDefined();
    dying = false;
    // While the dead holder's lease runs, the retry waits; nothing was charged.
    const early = await post('r1', voucher);
    expect(early.status).toBe(409);
    expect((await answer(early)).error).toBe('payment_in_progress');
    expect((await storage.get(payer.channelId))?.chargedCumulativeAmount).toBe(PRICE.toString());
    // Past the lease: the retry takes the purchase over, reuses the stored image, charges once.
    clock.offsetMs = PENDING_LEASE_MS + 1_000;
    const retry = await post('r1', voucher);
    expect(retry.status).toBe(200);
    expect(generations).toBe(2);
    expect((await storage.get(payer.channelId))?.chargedCumulativeAmount).toBe((2n * PRICE).toString());
    const again = await post('r1', voucher);
    expect(again.status).toBe(200);
    expect((await answer(again)).image_id).toBe((await answer(retry)).image_id);
    expect((await storage.get(payer.channelId))?.chargedCumulativeAmount).toBe((2n * PRICE).toString());
  });
});
