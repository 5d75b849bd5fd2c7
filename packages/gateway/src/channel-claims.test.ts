import type { BatchSettlementChannelManager, Channel } from '@x402/evm/batch-settlement/server';
import { describe, expect, it } from 'vitest';
import { startChannelClaims } from './channel-claims.ts';
import { type ChannelLog, createChannelLog } from './channel-log.ts';
import { createMemoryLogger } from './logger.ts';
import { createMemoryPaymentStore } from './memory-payment-store.ts';

const id = (n: number) => `0x${n.toString(16).padStart(64, '0')}`;
const tx = (n: number) => `0x${(1000 + n).toString(16).padStart(64, '0')}`;

/** Channels charged ahead of their claim (claimable) or not; what the pass sees from `list`. */
function channel(n: number, charged: bigint, claimed: bigint): Channel {
  return {
    channelId: id(n),
    chargedCumulativeAmount: charged.toString(),
    totalClaimed: claimed.toString(),
  } as Channel;
}

/**
 * The manager's claim contract as the official one keeps it: the selector chooses among the stored
 * channels, the claimable ones of its choice go out in one transaction per `maxClaimsPerBatch`.
 */
function fakeManager(channels: Channel[]) {
  const sent: { claims: string[][]; settles: number } = { claims: [], settles: 0 };
  let n = 0;
  const manager = {
    async claim(opts: { maxClaimsPerBatch: number; selectClaimChannels: (c: Channel[]) => Channel[] }) {
      const chosen = opts
        .selectClaimChannels(channels)
        .filter((c) => BigInt(c.chargedCumulativeAmount) > BigInt(c.totalClaimed));
      const results = [];
      for (let i = 0; i < chosen.length; i += opts.maxClaimsPerBatch) {
        const batch = chosen.slice(i, i + opts.maxClaimsPerBatch);
        sent.claims.push(batch.map((c) => c.channelId));
        for (const c of batch) c.totalClaimed = c.chargedCumulativeAmount;
        results.push({ vouchers: batch.length, transaction: tx(++n) });
      }
      return results;
    },
    async settle() {
      sent.settles += 1;
      return { transaction: tx(++n) };
    },
    async refundIdleChannels() {
      return [];
    },
  };
  return { manager: manager as unknown as BatchSettlementChannelManager, sent };
}

describe('the claim pass', () => {
  it('claims one batch per transaction and records each channel’s claim and the settle in its log', async () => {
    const { manager, sent } = fakeManager([
      channel(1, 40n, 0n),
      channel(2, 80n, 40n),
      channel(3, 40n, 40n), // nothing to claim
      channel(4, 120n, 0n),
    ]);
    const log = createChannelLog(createMemoryPaymentStore());
    const run = await startChannelClaims(manager, {
      maxClaimsPerBatch: 2,
      log,
      logger: createMemoryLogger(),
    }).runOnce();
    expect(sent.claims).toStrictEqual([[id(1), id(2)], [id(4)]]);
    expect(run).toStrictEqual({
      claims: [
        { vouchers: 2, transaction: tx(1) },
        { vouchers: 1, transaction: tx(2) },
      ],
      settle: { transaction: tx(3) },
      refunds: [],
    });
    const kinds = async (n: number) => (await log.list(id(n))).map((e) => [e.kind, e.transaction]);
    expect(await kinds(1)).toStrictEqual([
      ['claim', tx(1)],
      ['settle', tx(3)],
    ]);
    expect(await kinds(4)).toStrictEqual([
      ['claim', tx(2)],
      ['settle', tx(3)],
    ]);
    expect(await kinds(3)).toStrictEqual([]);
  });

  it('settles what it claimed even when the log cannot be written (logged)', async () => {
    const { manager, sent } = fakeManager([channel(1, 40n, 0n)]);
    const broken: ChannelLog = {
      record: async () => {
        throw new Error('table unavailable');
      },
      list: async () => [],
    };
    const logger = createMemoryLogger();
    const run = await startChannelClaims(manager, { log: broken, logger }).runOnce();
    expect(run.settle).toStrictEqual({ transaction: tx(2) });
    expect(sent.settles).toBe(1);
    expect(logger.lines.filter((l) => l.includes('channel_log_not_recorded'))).toHaveLength(2);
  });
});
