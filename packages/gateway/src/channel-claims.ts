import type { BatchSettlementChannelManager, Channel } from '@x402/evm/batch-settlement/server';
import type { ChannelLog } from './channel-log.ts';
import type { SettleDueFlag } from './channel-storage.ts';
import type { Logger } from './logger.ts';

/**
 * The claim schedule of `batch-settlement` (spec "Claim & Settlement Strategy", periodic): every
 * `intervalSeconds` the official `BatchSettlementChannelManager` claims every channel whose charge
 * is ahead of its on-chain `totalClaimed` (one `claimWithSignature` transaction for up to 100
 * channels). With `refundIdleSeconds` it also refunds the unspent balance of channels idle that
 * long (cooperative refund; the refund transaction claims their last voucher first). Then, if it
 * claimed or refunded anything, or a refund asked by a payer raised the settle-due flag since the
 * last pass, it settles (one transfer of everything claimed to the receiver) and lowers the flag. Runs never overlap;
 * `stop()` waits for a running one and flushes once more, so a shutdown leaves no charge unclaimed.
 * Locally this is a timer in the gateway process; in the cloud the same `runOnce` is a scheduled
 * Lambda (`claim-lambda.ts`).
 */
export interface ChannelClaims {
  /** One claim + settle (+ idle refunds) now; waits for a run already going. */
  runOnce(): Promise<ChannelClaimRun>;
  /** Stop the timer, wait for a running pass, then claim and settle what is left. */
  stop(): Promise<void>;
}

export interface ChannelClaimRun {
  readonly claims: { readonly vouchers: number; readonly transaction: string }[];
  readonly settle?: { readonly transaction: string } | undefined;
  readonly refunds: { readonly channel: string; readonly transaction: string }[];
}

export interface ChannelClaimsOptions {
  /** 0 or undefined: no timer (only `runOnce` / `stop`). */
  readonly intervalSeconds?: number | undefined;
  readonly refundIdleSeconds?: number | undefined;
  readonly maxClaimsPerBatch?: number | undefined;
  /** Raised by payer-asked refunds (`ChannelPayments.settleDue`); a raised flag makes the pass settle. */
  readonly settleDue?: SettleDueFlag | undefined;
  /** Where each channel's claim, settle and refund transactions are recorded for its payer. */
  readonly log?: ChannelLog | undefined;
  readonly logger: Logger;
}

/**
 * @example
 * const claims = startChannelClaims(channels.manager, { intervalSeconds: 60, settleDue: channels.settleDue, logger });
 * process.once('SIGTERM', () => claims.stop());
 */
export function startChannelClaims(
  manager: BatchSettlementChannelManager,
  options: ChannelClaimsOptions,
): ChannelClaims {
  const { logger } = options;
  let running: Promise<ChannelClaimRun> | undefined;

  const maxClaimsPerBatch = options.maxClaimsPerBatch ?? 100;
  // The log is for payers to read: a failed write is logged and never stops the money (a claim
  // sent and not followed by its settle would wait for the next pass that claims something).
  const note: ChannelLog['record'] = (channelIds, entry) =>
    options.log?.record(channelIds, entry).catch((error: unknown) => {
      logger.error('channel_log_not_recorded', {
        kind: entry.kind,
        transaction: entry.transaction,
        detail: error instanceof Error ? error.message : String(error),
      });
    }) ?? Promise.resolve();
  const claimable = (channel: Channel) =>
    BigInt(channel.chargedCumulativeAmount) > BigInt(channel.totalClaimed);

  /**
   * Claims in batches of `maxClaimsPerBatch`, one manager call (one transaction) per batch, so each
   * claim transaction is known with the channels it claimed.
   */
  const claimBatches = async () => {
    const claims: { vouchers: number; transaction: string; channelIds: string[] }[] = [];
    const done = new Set<string>();
    for (;;) {
      let batch: string[] = [];
      const results = await manager.claim({
        maxClaimsPerBatch,
        // The manager claims exactly the channels whose charge is ahead of their claim (the same
        // test as here), in the order given.
        selectClaimChannels: (channels) => {
          const selected = channels
            .filter((c) => claimable(c) && !done.has(c.channelId.toLowerCase()))
            .slice(0, maxClaimsPerBatch);
          batch = selected.map((c) => c.channelId.toLowerCase());
          return selected;
        },
      });
      for (const result of results) {
        logger.info('channel_claimed', { vouchers: result.vouchers, transaction: result.transaction });
        claims.push({ ...result, channelIds: batch });
        await note(batch, { kind: 'claim', transaction: result.transaction });
      }
      for (const id of batch) done.add(id);
      if (results.length === 0 || batch.length < maxClaimsPerBatch) return claims;
    }
  };

  const pass = async (): Promise<ChannelClaimRun> => {
    // Read before claiming: a refund raised after this read keeps the flag for the next pass.
    const due = await options.settleDue?.read();
    const claims = await claimBatches();
    const refunds =
      options.refundIdleSeconds === undefined
        ? []
        : await manager.refundIdleChannels({ idleSecs: options.refundIdleSeconds });
    for (const refund of refunds) {
      logger.info('channel_refunded', { channel_id: refund.channel, transaction: refund.transaction });
      await note([refund.channel], { kind: 'refund', transaction: refund.transaction });
    }
    let settle: ChannelClaimRun['settle'];
    if (claims.length > 0 || refunds.length > 0 || due !== undefined) {
      settle = await manager.settle();
      logger.info('channel_settled', { transaction: settle.transaction });
      // Settled: every channel claimed so far, by this pass, by its refunds or by payers' refunds.
      await note(
        [
          ...claims.flatMap((c) => c.channelIds),
          ...refunds.map((r) => r.channel),
          ...(due?.channelIds ?? []),
        ],
        { kind: 'settle', transaction: settle.transaction },
      );
      if (due !== undefined) await options.settleDue?.lower(due.version);
    }
    return {
      claims: claims.map(({ vouchers, transaction }) => ({ vouchers, transaction })),
      settle,
      refunds,
    };
  };

  const runOnce = async (): Promise<ChannelClaimRun> => {
    while (running !== undefined) await running.catch(() => undefined);
    running = pass();
    try {
      return await running;
    } finally {
      running = undefined;
    }
  };

  const timer =
    options.intervalSeconds === undefined || options.intervalSeconds <= 0
      ? undefined
      : setInterval(() => {
          if (running !== undefined) return;
          runOnce().catch((error: unknown) => {
            // A failed pass changes nothing in the store; the next one tries again.
            logger.error('channel_claim_failed', {
              detail: error instanceof Error ? error.message : String(error),
            });
          });
        }, options.intervalSeconds * 1000);
  timer?.unref();

  return {
    runOnce,
    async stop() {
      if (timer !== undefined) clearInterval(timer);
      await runOnce().catch((error: unknown) => {
        logger.error('channel_claim_failed', {
          detail: error instanceof Error ? error.message : String(error),
          when: 'shutdown',
        });
      });
    },
  };
}
