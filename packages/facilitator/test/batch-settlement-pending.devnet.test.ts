import { computeChannelId } from '@x402/evm/batch-settlement/client';
import type { Hex } from 'viem';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  bodyOf,
  channelState,
  NETWORK,
  officialClient,
  requirementsFor,
  TOKEN,
} from './batch-devnet-helpers.ts';
import { type FacilitatorFixture, freshSeller, postJson, startFixture } from './devnet-helpers.ts';
import { startReceiptDroppingProxy } from './rpc-proxy.ts';

/**
 * Batch-settlement transactions leave through the settler's send lane like exact settlements: when
 * the node takes a transaction but the answer is lost and no receipt comes, the facilitator
 * answers `settlement_pending` with the hash (never a failure while it may land), and a retried
 * deposit settle reconciles with that transaction instead of broadcasting again.
 */

let proxy: Awaited<ReturnType<typeof startReceiptDroppingProxy>>;
let fx: FacilitatorFixture;

beforeAll(async () => {
  proxy = await startReceiptDroppingProxy(inject('devnet').rpcUrl);
  proxy.state.dropReceipts = false;
  fx = await startFixture({
    rpcUrl: proxy.url,
    receiptTimeoutMs: 300,
    batchSettlement: { authorizerTokens: [TOKEN] },
  });
});

afterAll(async () => {
  await fx?.facilitator.stop();
  await proxy?.stop();
});

const settle = (body: unknown, headers: Record<string, string> = {}) =>
  fetch(`${fx.facilitator.url}/settle`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  }).then(async (res) => ({ status: res.status, json: (await res.json()) as Record<string, unknown> }));

describe('batch-settlement when the node takes a transaction but no answer or receipt comes back', () => {
  it('answers settlement_pending with the deposit hash, then reconciles a retried settle without a second send', async () => {
    const [payer] = await fx.devnet.fundPayers(1, 1_000_000n);
    if (!payer) throw new Error('no payer');
    const requirements = await requirementsFor(fx, freshSeller());
    const deposit = await officialClient(fx, payer).pay(requirements);
    const raw = deposit.payload as {
      channelConfig: Parameters<typeof computeChannelId>[0];
      deposit: { amount: string };
    };
    const channelId = computeChannelId(raw.channelConfig, NETWORK);
    const amount = BigInt(raw.deposit.amount);

    proxy.state.dropReceipts = true;
    proxy.state.resetSends = true;
    const sentBefore = fx.facilitator.stats().transactionsSent;
    const pending = await postJson(`${fx.facilitator.url}/settle`, bodyOf(deposit));
    proxy.state.resetSends = false;
    expect(pending.json).toMatchObject({
      success: false,
      errorReason: 'settlement_pending',
      payer: payer.address,
    });
    const hash = pending.json.transaction as Hex;
    expect(hash).toMatch(/^0x[0-9a-f]{64}$/);
    expect(fx.facilitator.stats().transactionsSent).toBe(sentBefore + 1);
    // The deposit did land.
    const receipt = await fx.devnet.publicClient.getTransactionReceipt({ hash });
    expect(receipt.status).toBe('success');
    expect(await channelState(fx, channelId)).toStrictEqual({ balance: amount, totalClaimed: 0n });

    // Receipts flow again: the retry reconciles with the same hash and sends nothing.
    proxy.state.dropReceipts = false;
    const retried = await postJson(`${fx.facilitator.url}/settle`, bodyOf(deposit));
    expect(retried.json).toMatchObject({
      success: true,
      transaction: hash,
      amount: amount.toString(),
      payer: payer.address,
    });
    expect(fx.facilitator.stats().transactionsSent).toBe(sentBefore + 1);
    expect(await fx.devnet.usdcBalance(payer.address)).toBe(1_000_000n - amount);
  });

  it('answers settlement_pending with the claim hash, and a retried claim reconciles with it', async () => {
    const [payer] = await fx.devnet.fundPayers(1, 1_000_000n);
    if (!payer) throw new Error('no payer');
    const receiver = freshSeller();
    const requirements = await requirementsFor(fx, receiver);
    const deposit = await officialClient(fx, payer).pay(requirements);
    const raw = deposit.payload as {
      channelConfig: Parameters<typeof computeChannelId>[0];
      deposit: { amount: string };
      voucher: { maxClaimableAmount: string; signature: Hex };
    };
    const channelId = computeChannelId(raw.channelConfig, NETWORK);
    expect((await postJson(`${fx.facilitator.url}/settle`, bodyOf(deposit))).json.success).toBe(true);

    // The payload the official channel manager sends for a claim (the facilitator signs it).
    const requirementsOfManager = {
      scheme: 'batch-settlement',
      network: NETWORK,
      asset: fx.devnet.usdcAddress,
      amount: '0',
      payTo: receiver,
      maxTimeoutSeconds: 0,
      extra: {},
    };
    const claim = {
      x402Version: 2,
      paymentPayload: {
        x402Version: 2,
        accepted: requirementsOfManager,
        payload: {
          type: 'claim',
          claims: [
            {
              voucher: { channel: raw.channelConfig, maxClaimableAmount: raw.voucher.maxClaimableAmount },
              signature: raw.voucher.signature,
              totalClaimed: '40000',
            },
          ],
        },
      },
      paymentRequirements: requirementsOfManager,
    };
    proxy.state.dropReceipts = true;
    proxy.state.resetSends = true;
    const pending = await settle(claim, { authorization: `Bearer ${TOKEN}` });
    proxy.state.resetSends = false;
    proxy.state.dropReceipts = false;
    expect(pending.status).toBe(200);
    expect(pending.json).toMatchObject({ success: false, errorReason: 'settlement_pending' });
    const hash = pending.json.transaction as Hex;
    expect((await fx.devnet.publicClient.getTransactionReceipt({ hash })).status).toBe('success');
    expect((await channelState(fx, channelId)).totalClaimed).toBe(40_000n);

    // The same claim settled again reconciles with that transaction: success, nothing sent.
    const sent = fx.facilitator.stats().transactionsSent;
    const retried = await settle(claim, { authorization: `Bearer ${TOKEN}` });
    expect(retried.json).toStrictEqual({ success: true, transaction: hash, network: NETWORK });
    expect(fx.facilitator.stats().transactionsSent).toBe(sent);

    // A settle sweeps the claimed sum to the receiver.
    const swept = await settle({
      ...claim,
      paymentPayload: {
        ...claim.paymentPayload,
        payload: { type: 'settle', receiver, token: fx.devnet.usdcAddress },
      },
    });
    expect(swept.json).toMatchObject({ success: true, amount: '40000' });
    expect(await fx.devnet.usdcBalance(receiver)).toBe(40_000n);
  });
});
