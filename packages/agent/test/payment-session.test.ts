import { join } from 'node:path';
import { BATCH_SETTLEMENT_ADDRESS, batchSettlementAbi } from '@agentic-payments/devnet';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { OutputReceipt } from '../src/agent-runtime.ts';
import { type RunningAgent, startAgent } from '../src/index.ts';
import { type Stack, say, startStack, startTestAgent } from './stack.ts';

// A payment session end to end on the devnet (PAYMENT_SCHEME=batch-settlement): the offline planner
// (a rule-based stand-in for an LLM) buys several images from the real gateway with one deposit
// into the channel contract, each image a voucher, then ends the session and gets the rest back.
// Balances are read from the chain.
describe('a payment session (batch-settlement, offline planner, devnet, real gateway and facilitator)', () => {
  let stack: Stack;
  let agent: RunningAgent;
  let agentAddress: `0x${string}`;
  const session = 'payment-session';
  const prompts = [
    'Generate an image of a futuristic city at sunset',
    'Generate an image of a lighthouse in a storm',
    'Generate an image of a red fox in the snow',
  ];

  beforeAll(async () => {
    stack = await startStack(inject('devnet'));
    ({ agent, address: agentAddress } = await startTestAgent(stack, { paymentScheme: 'batch-settlement' }));
  }, 120_000);
  afterAll(async () => {
    await agent?.stop();
    await stack?.stop();
  });

  const usdc = (address: `0x${string}`) => stack.devnet.usdcBalance(address);
  const channelOnChain = async (channelId: `0x${string}`) => {
    const [balance, totalClaimed] = await stack.devnet.publicClient.readContract({
      address: BATCH_SETTLEMENT_ADDRESS,
      abi: batchSettlementAbi,
      functionName: 'channels',
      args: [channelId],
    });
    return { balance, totalClaimed };
  };
  const kinds = (payments: OutputReceipt[]) => payments.map((p) => ('kind' in p ? p.kind : 'exact'));

  it('deposits the session budget once, then pays each image with a voucher, and refunds the rest at the end', async () => {
    const before = await usdc(agentAddress);
    const sellerBefore = await usdc(stack.sellerAddress);
    expect(before).toBe(10_000_000n);

    const first = await say(agent.url, session, prompts[0] ?? '');
    expect(first.status).toBe(200);
    expect(kinds(first.body.output.payments)).toStrictEqual(['deposit', 'voucher']);
    const [deposit, voucher] = first.body.output.payments;
    if (!deposit || !voucher || !('kind' in deposit) || !('kind' in voucher)) throw new Error(first.text);
    expect([deposit.atomic_amount, voucher.atomic_amount, voucher.transaction_hash]).toStrictEqual([
      '1000000',
      '40000',
      undefined,
    ]);
    const depositReceipt = await stack.devnet.publicClient.getTransactionReceipt({
      hash: deposit.transaction_hash as `0x${string}`,
    });
    expect(depositReceipt.status).toBe('success');
    expect(Object.keys(first.body.output.images)).toStrictEqual([voucher.image_id]);
    // The deposit left the wallet; the image itself moved nothing on chain.
    expect(await usdc(agentAddress)).toBe(before - 1_000_000n);
    const channelId = deposit.channel_id as `0x${string}`;
    expect(await channelOnChain(channelId)).toStrictEqual({ balance: 1_000_000n, totalClaimed: 0n });

    for (const prompt of prompts.slice(1)) {
      const reply = await say(agent.url, session, prompt);
      expect(reply.status).toBe(200);
      expect(kinds(reply.body.output.payments)).toStrictEqual(['voucher']);
      expect(Object.keys(reply.body.output.images)).toHaveLength(1);
    }
    expect(await usdc(agentAddress)).toBe(before - 1_000_000n);
    // The seller's claim pass mid-session: one claim and one settle pay it the three images; the
    // session's next turn shows both transactions (from the gateway), each once.
    await stack.claimChannels();
    expect(await usdc(stack.sellerAddress)).toBe(sellerBefore + 120_000n);
    const details = await say(agent.url, session, 'What are my wallet details?');
    expect(kinds(details.body.output.payments)).toStrictEqual(['claim', 'settle']);
    for (const receipt of details.body.output.payments) {
      expect(receipt).toMatchObject({ amount: '0', channel_id: channelId });
      const mined = await stack.devnet.publicClient.getTransactionReceipt({
        hash: receipt.transaction_hash as `0x${string}`,
      });
      expect(mined.status).toBe('success');
    }
    expect(await channelOnChain(channelId)).toStrictEqual({ balance: 1_000_000n, totalClaimed: 120_000n });
    const open = details.body.output.session;
    expect(open.payment_scheme).toBe('batch-settlement');
    expect(open.channel).toStrictEqual({
      channel_id: channelId,
      status: 'open',
      deposited: '1',
      deposited_atomic: '1000000',
      charged: '0.12',
      charged_atomic: '120000',
      refunded: '0',
      refunded_atomic: '0',
      remaining: '0.88',
      remaining_atomic: '880000',
      deposit_transaction: deposit.transaction_hash,
    });
    expect(kinds(open.payments)).toStrictEqual([
      'deposit',
      'voucher',
      'voucher',
      'voucher',
      'claim',
      'settle',
    ]);

    const ended = await say(agent.url, session, 'End this session and refund what it did not spend.');
    expect(ended.status).toBe(200);
    expect(kinds(ended.body.output.payments)).toStrictEqual(['refund']);
    const [refund] = ended.body.output.payments;
    if (!refund?.transaction_hash) throw new Error(ended.text);
    expect(refund.atomic_amount).toBe('880000');
    const refundReceipt = await stack.devnet.publicClient.getTransactionReceipt({
      hash: refund.transaction_hash as `0x${string}`,
    });
    expect(refundReceipt.status).toBe('success');
    expect(ended.text).toContain('0.88 USDC that it did not spend was refunded');
    // On chain: the wallet is down by exactly the three images; the channel holds only what the
    // seller charged (claimed and paid out by the pass above).
    expect(await usdc(agentAddress)).toBe(before - 120_000n);
    expect(await channelOnChain(channelId)).toStrictEqual({ balance: 120_000n, totalClaimed: 120_000n });
    // Nothing was left to claim: the next pass pays the seller nothing more.
    await stack.claimChannels();
    expect(await usdc(stack.sellerAddress)).toBe(sellerBefore + 120_000n);
    expect(ended.body.output.session.channel).toMatchObject({
      status: 'closed',
      refunded_atomic: '880000',
      remaining_atomic: '0',
      refund_transaction: refund.transaction_hash,
    });
    // The wallet's 24-hour budget counts what was spent, not the deposit that came back.
    expect(ended.body.output.wallet?.spent_24h).toBe('0.12');
  }, 180_000);

  it('keeps the channel across a restart (a voucher, no second deposit) and refunds an idle session', async () => {
    const {
      agent: first,
      address,
      privateKey,
    } = await startTestAgent(stack, { paymentScheme: 'batch-settlement' });
    const restartSession = 'restart-session';
    try {
      const bought = await say(first.url, restartSession, prompts[0] ?? '');
      expect(kinds(bought.body.output.payments)).toStrictEqual(['deposit', 'voucher']);
    } finally {
      await first.stop();
    }
    // A new process on the same data directory, with the idle refund after 1 s.
    const again = await startAgent({
      env: {
        AGENT_PRIVATE_KEY: privateKey,
        RPC_URL: stack.devnet.rpcUrl,
        GATEWAY_URL: stack.gatewayUrl,
        SELLER_ADDRESS: stack.sellerAddress,
        EXPLORER_URL: stack.explorerUrl,
        DATA_DIR: join(stack.dataDir, `agent-${address}`),
        PAYMENT_SCHEME: 'batch-settlement',
        SESSION_IDLE_REFUND_SECONDS: '1',
      },
      port: 0,
      host: '127.0.0.1',
      log: () => {},
    });
    try {
      const next = await say(again.url, restartSession, prompts[1] ?? '');
      expect(kinds(next.body.output.payments)).toStrictEqual(['voucher']);
      expect(await usdc(address)).toBe(10_000_000n - 1_000_000n);
      // Idle for a second: the agent ends the session itself and the rest comes back.
      await expect.poll(() => usdc(address), { timeout: 20_000, interval: 250 }).toBe(10_000_000n - 80_000n);
      const after = await say(again.url, restartSession, 'What are my wallet details?');
      expect(kinds(after.body.output.session.payments)).toStrictEqual([
        'deposit',
        'voucher',
        'voucher',
        'refund',
      ]);
      expect(after.body.output.session.channel).toMatchObject({
        status: 'closed',
        refunded_atomic: '920000',
      });
    } finally {
      await again.stop();
    }
  }, 180_000);
});
