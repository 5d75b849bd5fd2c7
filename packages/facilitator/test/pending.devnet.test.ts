import type { Hex } from 'viem';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  type FacilitatorFixture,
  freshSeller,
  PRICE,
  postJson,
  requirementsV1,
  requirementsV2,
  signV1,
  signV2,
  startFixture,
} from './devnet-helpers.ts';
import { startReceiptDroppingProxy } from './rpc-proxy.ts';

let proxy: Awaited<ReturnType<typeof startReceiptDroppingProxy>>;
let fx: FacilitatorFixture;

beforeAll(async () => {
  proxy = await startReceiptDroppingProxy(inject('devnet').rpcUrl);
  fx = await startFixture({ rpcUrl: proxy.url, receiptTimeoutMs: 300 });
});

afterAll(async () => {
  await fx?.facilitator.stop();
  await proxy?.stop();
});

describe('when no receipt arrives within the receipt timeout', () => {
  it.each([
    ['v2', 'eip155:84532'],
    ['v1', 'base-sepolia'],
  ])(
    'answers settlement_pending with the hash (%s), then reconciles on a retried settle',
    async (version, network) => {
      proxy.state.dropReceipts = true;
      const syncTimeoutsBefore = proxy.state.syncTimeouts;
      const [payer] = await fx.devnet.fundPayers(1, 1_000_000n);
      if (!payer) throw new Error('no payer');
      const seller = freshSeller();
      const body =
        version === 'v2'
          ? await (async () => {
              const paymentPayload = await signV2(payer, requirementsV2(fx.devnet, seller));
              return { x402Version: 2, paymentPayload, paymentRequirements: paymentPayload.accepted };
            })()
          : await (async () => {
              const paymentRequirements = requirementsV1(fx.devnet, seller);
              return {
                x402Version: 1,
                paymentPayload: await signV1(payer, paymentRequirements),
                paymentRequirements,
              };
            })();

      const started = performance.now();
      const pending = await postJson(`${fx.facilitator.url}/settle`, body);
      expect(performance.now() - started).toBeLessThan(5_000);
      expect(pending.status).toBe(200);
      expect(pending.json).toMatchObject({
        success: false,
        errorReason: 'settlement_pending',
        network,
        payer: payer.address,
      });
      const hash = pending.json.transaction as Hex;
      expect(hash).toMatch(/^0x[0-9a-f]{64}$/);
      // The devnet facilitator broadcasts with eth_sendRawTransactionSync; its timeout answer was seen.
      expect(proxy.state.syncTimeouts).toBe(syncTimeoutsBefore + 1);
      // The transaction did reach the chain: the devnet itself has its receipt.
      const receipt = await fx.devnet.publicClient.getTransactionReceipt({ hash });
      expect(receipt.status).toBe('success');
      expect(await fx.devnet.usdcBalance(seller)).toBe(PRICE);

      proxy.state.dropReceipts = false;
      const retried = await postJson(`${fx.facilitator.url}/settle`, body);
      expect(retried.json).toMatchObject({ success: true, transaction: hash, network, payer: payer.address });
      expect(await fx.devnet.usdcBalance(seller)).toBe(PRICE);
    },
  );
});

describe('when the broadcast request gets no answer (the node took it, the reply was lost)', () => {
  it('waits for the receipt and answers the settlement, not a failure; the next settle still works', async () => {
    proxy.state.dropReceipts = false;
    const payers = await fx.devnet.fundPayers(2, 1_000_000n);
    const seller = freshSeller();
    const settleOnce = async (payer: (typeof payers)[number]) => {
      const paymentPayload = await signV2(payer, requirementsV2(fx.devnet, seller));
      return postJson(`${fx.facilitator.url}/settle`, {
        x402Version: 2,
        paymentPayload,
        paymentRequirements: paymentPayload.accepted,
      });
    };
    const [first, second] = payers;
    if (!first || !second) throw new Error('no payers');
    const resyncs = fx.facilitator.stats().nonceResyncs;

    proxy.state.resetSends = true;
    const lost = await settleOnce(first).finally(() => {
      proxy.state.resetSends = false;
    });
    expect(lost.json).toMatchObject({ success: true, payer: first.address });
    expect(await fx.devnet.usdcBalance(seller)).toBe(PRICE);
    expect(fx.facilitator.stats().nonceResyncs).toBe(resyncs + 1);

    expect((await settleOnce(second)).json).toMatchObject({ success: true, payer: second.address });
    expect(await fx.devnet.usdcBalance(seller)).toBe(2n * PRICE);
  });
});
