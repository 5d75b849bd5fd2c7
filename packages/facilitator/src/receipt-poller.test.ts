import type { Hex } from 'viem';
import { describe, expect, it } from 'vitest';
import { ReceiptPoller, ReceiptTimeoutError } from './receipt-poller.ts';

const hashOf = (i: number): Hex => `0x${i.toString(16).padStart(64, '0')}`;

function rawReceipt(hash: Hex) {
  return {
    transactionHash: hash,
    transactionIndex: '0x0',
    blockHash: `0x${'00'.repeat(32)}`,
    blockNumber: '0x1',
    from: `0x${'00'.repeat(20)}`,
    to: `0x${'00'.repeat(20)}`,
    cumulativeGasUsed: '0x1',
    gasUsed: '0x1',
    effectiveGasPrice: '0x1',
    contractAddress: null,
    logs: [],
    logsBloom: `0x${'00'.repeat(256)}`,
    status: '0x1',
    type: '0x2',
  };
}

describe('ReceiptPoller', () => {
  it('asks for all pending receipts in one tick and resolves each when mined', async () => {
    const mined = new Set<Hex>();
    const calls: Array<{ at: number; hash: unknown }> = [];
    let tick = 0;
    const poller = new ReceiptPoller(async (_method, params) => {
      calls.push({ at: tick, hash: params[0] });
      const hash = params[0] as Hex;
      return mined.has(hash) ? rawReceipt(hash) : null;
    }, 5);
    const waits = [0, 1, 2].map((i) => poller.wait(hashOf(i), 1_000));
    await new Promise((r) => setTimeout(r, 20));
    tick = 1;
    for (const i of [0, 1, 2]) mined.add(hashOf(i));
    const receipts = await Promise.all(waits);
    expect(receipts.map((r) => r.status)).toStrictEqual(['success', 'success', 'success']);
    // The first tick asked for all three hashes together.
    expect(calls.slice(0, 3).map((c) => c.hash)).toStrictEqual([hashOf(0), hashOf(1), hashOf(2)]);
    poller.stop();
  });

  describe('when no receipt arrives in time', () => {
    it('rejects with ReceiptTimeoutError carrying the hash', async () => {
      const poller = new ReceiptPoller(async () => null, 5);
      const error = await poller.wait(hashOf(9), 30).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ReceiptTimeoutError);
      expect((error as ReceiptTimeoutError).hash).toBe(hashOf(9));
      poller.stop();
    });
  });

  describe('when the RPC fails', () => {
    it('keeps polling until the receipt arrives', async () => {
      let attempts = 0;
      const poller = new ReceiptPoller(async (_m, params) => {
        attempts += 1;
        if (attempts < 3) throw new Error('connection reset');
        return rawReceipt(params[0] as Hex);
      }, 2);
      const receipt = await poller.wait(hashOf(1), 1_000);
      expect(receipt.transactionHash).toBe(hashOf(1));
      expect(attempts).toBe(3);
      poller.stop();
    });
  });
});
