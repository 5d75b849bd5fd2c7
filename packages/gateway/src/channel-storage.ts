import { AppError } from '@agentic-payments/x402';
import type { Channel, ChannelStorage, ChannelUpdateResult } from '@x402/evm/batch-settlement/server';
import { z } from 'zod';
import { type LedgerRecord, NEVER_EXPIRES, type PaymentStore } from './payment-store.ts';

/**
 * The `batch-settlement` server's channel state (x402 spec `scheme_batch_settlement_evm.md`,
 * "Per-Channel State") behind the storage port `@x402/evm` defines (`ChannelStorage`: `get`,
 * `list`, `updateChannel`), kept in the payment store beside the purchase ledger: no new table and
 * no DynamoDB operation beyond GetItem / PutItem / DeleteItem.
 *
 * `updateChannel` is the port's atomic read-modify-write. It runs as optimistic concurrency over
 * the store's version-conditioned writes: read the record and its version (or start from the one
 * this instance last read or wrote, see `known` below), run the callback, write only while the
 * version is unchanged (create-if-absent for a new channel, delete-if-unchanged for
 * `undefined`), and on a lost race run the callback again on the record that won. Every gateway
 * instance sharing the table therefore serializes on the channel, not only one process. The
 * callback may run more than once and must be pure (the official scheme's callbacks are).
 *
 * `list` (used by the claim, settle and refund jobs) reads an index: 16 shard records
 * (`channel-index:<first hex digit of the id>`), each a JSON array of channel ids. A channel id is
 * added to its shard before the channel record is created and removed after the record is deleted,
 * so the index always covers every channel (a crash can only leave an id whose record is gone,
 * which `list` skips). One shard item holds ~5,800 ids within DynamoDB's 400 KB item limit, so the
 * index holds ~90,000 open channels.
 *
 * Amounts are decimal strings of atomic units (the port's `Channel` shape); every write is checked
 * against the spec's money invariants (`chargedCumulativeAmount` ≤ `signedMaxClaimable` and ≤
 * `balance`), so no code path can store a charge the vouchers or the deposit do not cover.
 */

/** `mutate`'s "leave the record as it is". */
const same = Symbol('same');

/** Thrown (a fault, not a client error) when a write would break a channel's money invariants. */
export class ChannelStateError extends AppError<'channel_invariant_violated' | 'channel_contended'> {}

const UINT = /^(0|[1-9]\d*)$/;
const Uint = z.string().regex(UINT);
const Address = z.string().regex(/^0x[0-9a-fA-F]{40}$/);
const Bytes32 = z.string().regex(/^0x[0-9a-fA-F]{64}$/);
const Hex = z.string().regex(/^0x[0-9a-fA-F]*$/);
const Count = z.number().int().nonnegative();

/** A stored channel document (the port's `Channel`); unknown fields are kept, not dropped. */
const ChannelDocument = z.looseObject({
  channelId: Bytes32,
  channelConfig: z.looseObject({
    payer: Address,
    payerAuthorizer: Address,
    receiver: Address,
    receiverAuthorizer: Address,
    token: Address,
    withdrawDelay: Count,
    salt: Bytes32,
  }),
  chargedCumulativeAmount: Uint,
  signedMaxClaimable: Uint,
  signature: Hex,
  balance: Uint,
  totalClaimed: Uint,
  withdrawRequestedAt: Count,
  refundNonce: Count,
  onchainSyncedAt: z.number().optional(),
  lastRequestTimestamp: z.number(),
  pendingRequest: z
    .looseObject({ pendingId: z.string().min(1), signedMaxClaimable: Uint, expiresAt: z.number() })
    .optional(),
});
const IndexDocument = z.array(Bytes32);

/** Store key of a channel record. */
export const channelKey = (channelId: string): string => `channel:${normalizeChannelId(channelId)}`;
const indexKey = (channelId: string): string => `channel-index:${normalizeChannelId(channelId).charAt(2)}`;
const INDEX_SHARDS = '0123456789abcdef';

function normalizeChannelId(channelId: string): string {
  if (!Bytes32.safeParse(channelId).success) {
    throw new AppError('invalid_channel_id', 'a channel id is a 0x-prefixed bytes32 hex string', {
      httpStatus: 400,
    });
  }
  return channelId.toLowerCase();
}

function parseChannel(record: LedgerRecord): Channel {
  if (record.kind !== 'channel' || record.document === undefined) {
    throw new ChannelStateError('channel_invariant_violated', `record ${record.key} is not a channel`, {
      httpStatus: 500,
    });
  }
  return ChannelDocument.parse(JSON.parse(record.document)) as Channel;
}

function parseIndex(record: LedgerRecord | undefined): string[] {
  return record?.document === undefined ? [] : IndexDocument.parse(JSON.parse(record.document));
}

/** The spec's money invariants for a stored channel; throws before anything is written. */
export function assertChannelInvariants(channelId: string, channel: Channel): void {
  const fail = (message: string) => {
    throw new ChannelStateError('channel_invariant_violated', `channel ${channelId}: ${message}`, {
      httpStatus: 500,
    });
  };
  const parsed = ChannelDocument.safeParse(channel);
  if (!parsed.success) fail(`malformed channel record (${parsed.error.issues[0]?.message ?? 'invalid'})`);
  if (channel.channelId.toLowerCase() !== channelId) fail(`record is for ${channel.channelId}`);
  const charged = BigInt(channel.chargedCumulativeAmount);
  if (charged > BigInt(channel.signedMaxClaimable)) {
    fail(`charged ${charged} exceeds the signed maximum ${channel.signedMaxClaimable}`);
  }
  if (charged > BigInt(channel.balance)) fail(`charged ${charged} exceeds the balance ${channel.balance}`);
}

export interface ChannelStorageOptions {
  /** Wall clock (ms); injected by tests. */
  readonly now?: () => number;
  /** Attempts of one `updateChannel` under contention before it gives up (`channel_contended`). */
  readonly maxAttempts?: number;
  /** Channel records whose last known version this instance keeps (default 10,000). */
  readonly knownRecords?: number;
}

/**
 * @example
 * const storage = createChannelStorage(createDynamoDbPaymentStore({ client, tableName }));
 * const scheme = new BatchSettlementEvmScheme(payTo, { storage });
 */
export function createChannelStorage(
  store: PaymentStore,
  options: ChannelStorageOptions = {},
): ChannelStorage {
  const now = options.now ?? Date.now;
  const maxAttempts = options.maxAttempts ?? 200;
  // Jittered, growing pause after a lost race, so contenders spread out instead of colliding again.
  const backoff = (attempt: number) =>
    new Promise((resolve) => setTimeout(resolve, Math.random() * Math.min(2 + attempt, 25)));

  const record = (key: string, kind: 'channel' | 'channel-index', version: number, document: string) =>
    ({
      key,
      kind,
      state: 'open',
      version,
      holder: '',
      requestId: '',
      fingerprint: '',
      leaseUntil: 0,
      expiresAt: NEVER_EXPIRES,
      createdAt: now(),
      document,
    }) satisfies LedgerRecord;

  // The last record this instance read or wrote per channel key: a read-modify-write starts from it
  // instead of reading again. It may be stale (another instance wrote since); the write is
  // conditioned on its version all the same, so a stale start only costs the lost race's retry, on
  // the record that won (returned by the failed condition). A request therefore reads its channel
  // once (the scheme's `get`) and then only writes. Insertion-ordered: the oldest entry goes first.
  const knownLimit = options.knownRecords ?? 10_000;
  const known = new Map<string, LedgerRecord>();
  const remember = (key: string, found: LedgerRecord | undefined) => {
    known.delete(key);
    if (found === undefined) return;
    known.set(key, found);
    if (known.size > knownLimit) known.delete(known.keys().next().value as string);
  };

  /** Read-modify-write of one record under its version: `change` returns the next document or
   * `undefined` to delete it; `same` to leave it. */
  const mutate = async (
    key: string,
    kind: 'channel' | 'channel-index',
    change: (current: LedgerRecord | undefined) => string | undefined | typeof same,
    beforeCreate?: () => Promise<unknown>,
  ): Promise<'updated' | 'deleted' | 'unchanged'> => {
    const remembered = kind === 'channel' ? known.get(key) : undefined;
    // null: read it. A channel starts from its last known record, if any.
    let start: LedgerRecord | undefined | null = remembered ?? null;
    let fromMemory = remembered !== undefined;
    let lostRaces = 0;
    for (let attempt = 0; attempt < maxAttempts; attempt++) {
      if (lostRaces > 0) await backoff(lostRaces);
      const current: LedgerRecord | undefined = start === null ? await store.get(key, now()) : start;
      start = null;
      const next = change(current);
      if (next === same) {
        // "Leave it" is only answered for the record as stored: a remembered one is read first.
        if (!fromMemory) return 'unchanged';
        fromMemory = false;
        continue;
      }
      fromMemory = false;
      if (next === undefined) {
        if (current === undefined) return 'unchanged';
        const removed = await store.remove(key, current.version);
        // Either way the key is gone or changed: the next attempt reads it.
        known.delete(key);
        if (removed) return 'deleted';
        lostRaces += 1;
        continue;
      }
      const written =
        current === undefined
          ? record(key, kind, 0, next)
          : { ...current, version: current.version + 1, document: next };
      let won: { ok: true } | { ok: false; existing: LedgerRecord | undefined };
      if (current === undefined) {
        await beforeCreate?.();
        const created = await store.create(written, now());
        won = created.created ? { ok: true } : { ok: false, existing: created.existing };
      } else {
        const replaced = await store.replace(written, current.version);
        won = replaced.replaced ? { ok: true } : { ok: false, existing: replaced.existing };
      }
      if (won.ok) {
        if (kind === 'channel') remember(key, written);
        return 'updated';
      }
      start = won.existing;
      lostRaces += 1;
    }
    known.delete(key);
    throw new ChannelStateError('channel_contended', `record ${key} kept changing under us`, {
      httpStatus: 503,
    });
  };

  const addToIndex = (channelId: string) =>
    mutate(indexKey(channelId), 'channel-index', (current) => {
      const ids = parseIndex(current);
      return ids.includes(channelId) ? same : JSON.stringify([...ids, channelId]);
    });
  const removeFromIndex = (channelId: string) =>
    mutate(indexKey(channelId), 'channel-index', (current) => {
      const ids = parseIndex(current);
      if (!ids.includes(channelId)) return same;
      const rest = ids.filter((id) => id !== channelId);
      return rest.length === 0 ? undefined : JSON.stringify(rest);
    });

  const get = async (channelId: string): Promise<Channel | undefined> => {
    const key = channelKey(channelId);
    const found = await store.get(key, now());
    remember(key, found);
    return found === undefined ? undefined : parseChannel(found);
  };

  return {
    get,

    async list() {
      const shards = await Promise.all(
        [...INDEX_SHARDS].map(async (digit) => parseIndex(await store.get(`channel-index:${digit}`, now()))),
      );
      const channels = await Promise.all(shards.flat().map(get));
      return channels
        .filter((channel): channel is Channel => channel !== undefined)
        .sort((a, b) => a.channelId.localeCompare(b.channelId));
    },

    async updateChannel(channelId, update): Promise<ChannelUpdateResult> {
      const id = normalizeChannelId(channelId);
      let result: Channel | undefined;
      const status = await mutate(
        channelKey(id),
        'channel',
        (current) => {
          const before = current === undefined ? undefined : parseChannel(current);
          const next = update(before);
          result = next;
          if (next === before) return same;
          if (next === undefined) return undefined;
          assertChannelInvariants(id, next);
          return JSON.stringify(next);
        },
        // The index first: a crash between the two writes leaves an id without a record (skipped
        // by `list`), never a channel that the claim and refund jobs cannot see.
        () => addToIndex(id),
      );
      // After the record: a crash in between leaves a dangling id, which `list` skips.
      if (status === 'deleted') await removeFromIndex(id);
      return { channel: status === 'deleted' ? undefined : result, status };
    },
  };
}

/**
 * "Claimed on chain, not yet settled to the seller." A cooperative refund claims the channel's
 * outstanding vouchers in its own transaction, so the claim job's next pass finds nothing to claim
 * and, without this flag, would never send the settle that pays the seller. The flag is a record in
 * the payment store (durable, shared by every instance): raised after a refund, lowered by the
 * claim job after its settle, conditioned on the version it read, so a refund that lands while the
 * settle runs leaves the flag raised for the next pass. A crash before the flag is raised only
 * delays the payout to the next settle (settle pays everything claimed so far).
 */
export interface SettleDueFlag {
  /** Raise the flag for the channel a refund just claimed. */
  raise(channelId: string): Promise<void>;
  /** While raised: its version and the channels raised since it was last lowered. */
  read(): Promise<{ readonly version: number; readonly channelIds: readonly string[] } | undefined>;
  /** Lower the flag if it is still at `version` (a newer raise stays). */
  lower(version: number): Promise<void>;
}

export const SETTLE_DUE_KEY = 'channel-settle-due';
/** Channels the flag names at most (~5,800 ids fit DynamoDB's 400 KB item); the flag itself stays raised. */
const SETTLE_DUE_MAX_CHANNELS = 5_000;

/**
 * @example
 * const settleDue = createSettleDueFlag(store);
 * await settleDue.raise(); // after a refund transaction
 */
export function createSettleDueFlag(
  store: PaymentStore,
  options: { readonly now?: () => number } = {},
): SettleDueFlag {
  const now = options.now ?? Date.now;
  const flag = (version: number, channelIds: readonly string[]): LedgerRecord => ({
    key: SETTLE_DUE_KEY,
    kind: 'settle-due',
    state: 'open',
    version,
    holder: '',
    requestId: '',
    fingerprint: '',
    leaseUntil: 0,
    expiresAt: NEVER_EXPIRES,
    createdAt: now(),
    document: JSON.stringify(channelIds),
  });
  const channelsOf = (record: LedgerRecord) =>
    record.document === undefined ? [] : IndexDocument.parse(JSON.parse(record.document));
  return {
    async raise(channelId) {
      const id = normalizeChannelId(channelId);
      for (let attempt = 0; attempt < 20; attempt++) {
        const created = await store.create(flag(0, [id]), now());
        if (created.created) return;
        // Already raised: bump its version so a settle that read the old version does not lower it.
        const { existing } = created;
        const ids = channelsOf(existing);
        const next = ids.includes(id) ? ids : [...ids, id].slice(-SETTLE_DUE_MAX_CHANNELS);
        const replaced = await store.replace(flag(existing.version + 1, next), existing.version);
        if (replaced.replaced) return;
      }
      throw new ChannelStateError('channel_contended', 'the settle-due flag kept changing under us', {
        httpStatus: 503,
      });
    },
    async read() {
      const record = await store.get(SETTLE_DUE_KEY, now());
      return record === undefined ? undefined : { version: record.version, channelIds: channelsOf(record) };
    },
    async lower(version) {
      await store.remove(SETTLE_DUE_KEY, version);
    },
  };
}
