import type { PaymentPayload } from '@x402/core/types';
import type { Hex } from 'viem';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMemoryLogger } from '../src/logger.ts';
import { startFacilitator } from '../src/start-facilitator.ts';
import {
  type FacilitatorFixture,
  freshSeller,
  PRICE,
  postJson,
  requirementsV2,
  signV2,
  startFixture,
} from './devnet-helpers.ts';

let fx: FacilitatorFixture;

beforeAll(async () => {
  fx = await startFixture();
});

afterAll(async () => {
  await fx?.facilitator.stop();
});

const settle = (paymentPayload: PaymentPayload) =>
  postJson(`${fx.facilitator.url}/settle`, {
    x402Version: 2,
    paymentPayload,
    paymentRequirements: paymentPayload.accepted,
  });

describe('concurrent settlements', () => {
  it('settles 50 distinct payers at once, each once, with 50 distinct settler nonces', async () => {
    const payers = await fx.devnet.fundPayers(50, 1_000_000n);
    const seller = freshSeller();
    const payloads = await Promise.all(
      payers.map((payer) => signV2(payer, requirementsV2(fx.devnet, seller))),
    );
    const resyncsBefore = fx.facilitator.stats().nonceResyncs;

    const started = performance.now();
    const answers = await Promise.all(payloads.map(settle));
    const elapsedMs = performance.now() - started;

    expect(answers.map((a) => [a.status, a.json.success, a.json.errorReason])).toStrictEqual(
      payers.map(() => [200, true, undefined]),
    );
    const hashes = answers.map((a) => a.json.transaction as Hex);
    expect(new Set(hashes).size).toBe(50);
    const transactions = await Promise.all(
      hashes.map((hash) => fx.devnet.publicClient.getTransaction({ hash })),
    );
    const nonces = transactions.map((tx) => tx.nonce).sort((a, b) => a - b);
    const first = nonces[0] ?? -1;
    expect(nonces).toStrictEqual(Array.from({ length: 50 }, (_, i) => first + i));
    expect(transactions.every((tx) => tx.from.toLowerCase() === fx.settler.address.toLowerCase())).toBe(true);
    expect(fx.facilitator.stats().nonceResyncs).toBe(resyncsBefore);
    expect(await fx.devnet.usdcBalance(seller)).toBe(50n * PRICE);
    // Generous bound for a loaded 2-core machine; the point is "no stall", not a benchmark.
    expect(elapsedMs).toBeLessThan(15_000);
  });

  it('confirms every one of 3 waves of 128 staggered settlements (ordered, batched sync broadcasts)', async () => {
    // The send lane's ordering itself is pinned by send-lane.test.ts; this runs the real path at
    // the benchmark's highest concurrency: flights of eth_sendRawTransactionSync on anvil.
    const payers = await fx.devnet.fundPayers(128, 1_000_000n);
    const seller = freshSeller();
    for (let wave = 0; wave < 3; wave++) {
      const payloads = await Promise.all(
        payers.map((payer) => signV2(payer, requirementsV2(fx.devnet, seller))),
      );
      // Staggered, so broadcasts leave from many ticks and their requests overlap on the wire.
      const answers = await Promise.all(
        payloads.map(async (payload, i) => {
          await new Promise((r) => setTimeout(r, i % 16));
          return settle(payload);
        }),
      );
      expect(answers.filter((a) => a.json.success !== true).map((a) => a.json.errorReason)).toStrictEqual([]);
    }
    expect(await fx.devnet.usdcBalance(seller)).toBe(3n * 128n * PRICE);
  });

  it('settles one authorization sent 20 times at once exactly once', async () => {
    const [payer] = await fx.devnet.fundPayers(1, 1_000_000n);
    if (!payer) throw new Error('no payer');
    const seller = freshSeller();
    const payload = await signV2(payer, requirementsV2(fx.devnet, seller));

    const answers = await Promise.all(Array.from({ length: 20 }, () => settle(payload)));

    const successes = answers.filter((a) => a.json.success === true);
    expect(successes).toHaveLength(1);
    expect(answers.filter((a) => a.json.success === false).map((a) => a.json.errorReason)).toStrictEqual(
      Array.from({ length: 19 }, () => 'authorization_already_used'),
    );
    expect(await fx.devnet.usdcBalance(seller)).toBe(PRICE);
    expect(await fx.devnet.usdcBalance(payer.address)).toBe(1_000_000n - PRICE);
  });

  it('spreads settlements round-robin across several settler keys, each with its own nonce sequence', async () => {
    const settlers = await fx.devnet.fundPayers(2, 0n, 10n ** 19n);
    const two = await startFacilitator({
      rpcUrl: fx.devnet.rpcUrl,
      privateKey: settlers.map((s) => s.privateKey),
      network: 'devnet',
      port: 0,
      logger: createMemoryLogger(),
    });
    try {
      const payers = await fx.devnet.fundPayers(6, 1_000_000n);
      const seller = freshSeller();
      const payloads = await Promise.all(
        payers.map((payer) => signV2(payer, requirementsV2(fx.devnet, seller))),
      );
      const answers = await Promise.all(
        payloads.map((paymentPayload) =>
          postJson(`${two.url}/settle`, {
            x402Version: 2,
            paymentPayload,
            paymentRequirements: paymentPayload.accepted,
          }),
        ),
      );
      expect(answers.every((a) => a.json.success === true)).toBe(true);
      const transactions = await Promise.all(
        answers.map((a) => fx.devnet.publicClient.getTransaction({ hash: a.json.transaction as Hex })),
      );
      for (const settler of settlers) {
        const nonces = transactions
          .filter((tx) => tx.from.toLowerCase() === settler.address.toLowerCase())
          .map((tx) => tx.nonce)
          .sort((a, b) => a - b);
        expect(nonces).toStrictEqual([0, 1, 2]);
      }
      expect(two.addresses).toStrictEqual(settlers.map((s) => s.address));
      expect(await fx.devnet.usdcBalance(seller)).toBe(6n * PRICE);
    } finally {
      await two.stop();
    }
  });
});
