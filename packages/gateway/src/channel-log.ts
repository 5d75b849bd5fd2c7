import { z } from 'zod';
import { ChannelStateError, channelKey } from './channel-storage.ts';
import type { LedgerRecord, PaymentStore } from './payment-store.ts';

/**
 * The on-chain transactions that moved a channel's money after its deposit, per channel, for its
 * payer: the claim transactions that took its charges (`claim`; a refund's transaction claims too,
 * see `refund`), the settle transactions that paid what was claimed out to the seller (`settle`),
 * and refunds the seller's claim job sent on its own (`refund`, idle channels). Neither x402's
 * responses nor the contract's ABI tell a payer about them; `GET /channels/:id/transactions` does.
 *
 * One record per channel (`channel-log:<channelId>`, a JSON array in `document`), appended with
 * version-conditioned writes (instances sharing the table lose no entry), at most `limit` entries
 * (the oldest go), kept for `retentionMs` after its last entry.
 */
export type ChannelTransactionKind = 'claim' | 'settle' | 'refund';

export interface ChannelTransaction {
  readonly kind: ChannelTransactionKind;
  readonly transaction: string;
  /** When the gateway recorded it (ms since epoch). */
  readonly at: number;
}

export interface ChannelLog {
  /** Appends `entry` to the log of every channel in `channelIds` (an entry already there is kept once). */
  record(
    channelIds: readonly string[],
    entry: { readonly kind: ChannelTransactionKind; readonly transaction: string },
  ): Promise<void>;
  /** Oldest first; empty for a channel the gateway never claimed, settled or refunded. */
  list(channelId: string): Promise<ChannelTransaction[]>;
}

const Entries = z.array(
  z.strictObject({
    kind: z.enum(['claim', 'settle', 'refund']),
    transaction: z.string().regex(/^0x[0-9a-fA-F]{64}$/),
    at: z.number().int().nonnegative(),
  }),
);

export const channelLogKey = (channelId: string): string =>
  channelKey(channelId).replace(/^channel:/, 'channel-log:');

/**
 * @example
 * const log = createChannelLog(store);
 * await log.record([channelId], { kind: 'claim', transaction });
 */
export function createChannelLog(
  store: PaymentStore,
  options: { readonly now?: () => number; readonly retentionMs?: number; readonly limit?: number } = {},
): ChannelLog {
  const now = options.now ?? Date.now;
  const retentionMs = options.retentionMs ?? 30 * 24 * 3600 * 1000;
  const limit = options.limit ?? 200;
  const entriesOf = (record: LedgerRecord | undefined): ChannelTransaction[] =>
    record?.document === undefined ? [] : Entries.parse(JSON.parse(record.document));

  const append = async (channelId: string, entry: Omit<ChannelTransaction, 'at'>) => {
    const key = channelLogKey(channelId);
    for (let attempt = 0; attempt < 50; attempt++) {
      const at = now();
      const current = await store.get(key, at);
      const entries = entriesOf(current);
      if (entries.some((e) => e.kind === entry.kind && e.transaction === entry.transaction)) return;
      const next: LedgerRecord = {
        key,
        kind: 'channel-log',
        state: 'open',
        version: current === undefined ? 0 : current.version + 1,
        holder: '',
        requestId: '',
        fingerprint: '',
        leaseUntil: 0,
        expiresAt: at + retentionMs,
        createdAt: current?.createdAt ?? at,
        document: JSON.stringify([...entries, { ...entry, at }].slice(-limit)),
      };
      const won =
        current === undefined
          ? (await store.create(next, at)).created
          : (await store.replace(next, current.version)).replaced;
      if (won) return;
    }
    throw new ChannelStateError(
      'channel_contended',
      `the log of channel ${channelId} kept changing under us`,
      {
        httpStatus: 503,
      },
    );
  };

  return {
    async record(channelIds, entry) {
      for (const channelId of new Set(channelIds.map((id) => id.toLowerCase())))
        await append(channelId, entry);
    },
    async list(channelId) {
      return entriesOf(await store.get(channelLogKey(channelId), now()));
    },
  };
}
