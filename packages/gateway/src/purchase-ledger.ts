import { randomUUID } from 'node:crypto';
import type { AuthorizationRef, LedgerRecord, PaymentStore, StoredReceipt } from './payment-store.ts';

/**
 * The purchase ledger: the one state machine of a paid purchase, over the primitive operations of a
 * `PaymentStore` adapter (in the shape of Powertools' idempotency `BasePersistenceLayer`).
 *
 *   begin ──fresh──> pending ──settling──> settling ──complete──> settled
 *     │                 │  └──────────────complete─────────────────^
 *     │                 └──release──> (absent)      (verify, generation or settlement refused)
 *     ├─replay(stored)   a settled purchase, asked again by its payer with a verified payment
 *     ├─in_progress      another holder's lease is running
 *     ├─conflict         another purchase under this key, another payer, or the authorization is
 *     │                  bound to another purchase
 *     └─recover          the holder's lease passed: the caller resolves it (chain, image store) and
 *                        then `takeOver`, `complete` or `release`
 *
 * Every write is conditional on the version the caller read, except `complete`: the transfer
 * happened, so the settled record is the truth whoever holds the lease (one unconditional write).
 */
export type BeginResult =
  | { readonly kind: 'fresh'; readonly holder: LedgerRecord }
  | { readonly kind: 'replay'; readonly receipt: StoredReceipt }
  | { readonly kind: 'in_progress'; readonly record: LedgerRecord }
  | { readonly kind: 'conflict'; readonly reason: ConflictReason }
  | { readonly kind: 'recover'; readonly record: LedgerRecord };

/**
 * - `purchase`: the key was used for a different purchase (another prompt, size, quality or price);
 * - `payer`: the key's purchase belongs to another payer;
 * - `authorization`: this authorization is already bound to another purchase.
 */
export type ConflictReason = 'purchase' | 'payer' | 'authorization';

export interface BeginParameters {
  /** The idempotency key (see `purchaseKey`). */
  readonly key: string;
  readonly requestId: string;
  readonly fingerprint: string;
  /** The payment of this request, already verified (signature, amount, payee, window). */
  readonly authorization: AuthorizationRef;
  readonly imageId: string;
  readonly leaseUntil: number;
  readonly expiresAt: number;
  readonly now: number;
}

export type TakeOverResult =
  | { readonly kind: 'taken'; readonly holder: LedgerRecord }
  | { readonly kind: 'conflict'; readonly reason: ConflictReason }
  | { readonly kind: 'lost' };

export interface PurchaseLedger {
  begin(params: BeginParameters): Promise<BeginResult>;
  /**
   * Become the holder of a purchase whose lease passed (`recover`), optionally paying it with
   * another authorization (bound first). `lost` when someone else changed the record meanwhile.
   */
  takeOver(
    record: LedgerRecord,
    update: {
      readonly state: 'pending' | 'settling';
      readonly leaseUntil: number;
      readonly now: number;
      readonly authorization?: AuthorizationRef;
      readonly imageId?: string;
    },
  ): Promise<TakeOverResult>;
  /** Extend the holder's lease; `undefined` when it was taken over meanwhile. */
  renew(holder: LedgerRecord, leaseUntil: number): Promise<LedgerRecord | undefined>;
  /** Settle was sent and its outcome is not known (yet): the chain decides on recovery. */
  settling(
    holder: LedgerRecord,
    update: { readonly leaseUntil: number; readonly transaction?: string | undefined },
  ): Promise<LedgerRecord | undefined>;
  /** Record the settled purchase (one unconditional write) and keep it `retentionMs` from `now`. */
  complete(holder: LedgerRecord, receipt: StoredReceipt, now: number): Promise<void>;
  /** Give the purchase up (nothing was charged): deletes it and its authorization binding. */
  release(holder: LedgerRecord): Promise<boolean>;
}

const same = (a: string, b: string) => a.toLowerCase() === b.toLowerCase();

/**
 * @example
 * const ledger = createPurchaseLedger(createMemoryPaymentStore(), { retentionMs: 7 * 86_400_000 });
 * const begun = await ledger.begin({ key, requestId, fingerprint, authorization, imageId, leaseUntil, expiresAt, now });
 */
export function createPurchaseLedger(
  store: PaymentStore,
  options: { readonly retentionMs: number },
): PurchaseLedger {
  const bindingOf = (purchase: LedgerRecord, key: string, now: number): LedgerRecord => ({
    key,
    kind: 'authorization',
    state: 'bound',
    version: 0,
    holder: purchase.key,
    requestId: purchase.requestId,
    fingerprint: purchase.fingerprint,
    leaseUntil: 0,
    expiresAt: purchase.expiresAt,
    createdAt: now,
  });

  /**
   * Bind `authorization` to `purchase`: true when it is (now or already) bound to it, or when it
   * has no key (nothing to bind: no write).
   */
  const bind = async (purchase: LedgerRecord, authorization: AuthorizationRef, now: number) => {
    if (authorization.key === undefined) return true;
    const created = await store.create(bindingOf(purchase, authorization.key, now), now);
    return created.created || created.existing.holder === purchase.key;
  };

  const replace = async (record: LedgerRecord, next: LedgerRecord) =>
    (await store.replace(next, record.version)).replaced ? next : undefined;

  return {
    async begin(params) {
      const purchase: LedgerRecord = {
        key: params.key,
        kind: 'purchase',
        state: 'pending',
        version: 0,
        holder: randomUUID(),
        requestId: params.requestId,
        fingerprint: params.fingerprint,
        leaseUntil: params.leaseUntil,
        expiresAt: params.expiresAt,
        createdAt: params.now,
        imageId: params.imageId,
        authorization: params.authorization,
      };
      // The purchase first (the idempotency key): only its one holder binds the authorization to it
      // (an authorization pays for one purchase only, ever). A retry, a replay or a lost race costs
      // one conditional put; a fresh purchase two (one when its authorization has no key to bind).
      const created = await store.create(purchase, params.now);
      if (created.created) {
        if (await bind(purchase, params.authorization, params.now))
          return { kind: 'fresh', holder: purchase };
        await store.remove(purchase.key, purchase.version);
        return { kind: 'conflict', reason: 'authorization' };
      }
      const existing = created.existing;
      if (existing.kind !== 'purchase' || existing.fingerprint !== params.fingerprint) {
        return { kind: 'conflict', reason: 'purchase' };
      }
      const payer = existing.receipt?.payer ?? existing.authorization?.payer;
      if (payer === undefined || !same(payer, params.authorization.payer)) {
        return { kind: 'conflict', reason: 'payer' };
      }
      if (existing.state === 'settled' && existing.receipt !== undefined) {
        return { kind: 'replay', receipt: existing.receipt };
      }
      if (existing.leaseUntil > params.now) return { kind: 'in_progress', record: existing };
      // Resolved for the purchase's own authorization; another one is bound only when it takes over.
      return { kind: 'recover', record: existing };
    },

    async takeOver(record, update) {
      const authorization = update.authorization ?? record.authorization;
      if (
        update.authorization !== undefined &&
        update.authorization.key !== record.authorization?.key &&
        !(await bind(record, update.authorization, update.now))
      ) {
        return { kind: 'conflict', reason: 'authorization' };
      }
      const { transaction, ...rest } = record;
      const taken = await replace(record, {
        ...rest,
        version: record.version + 1,
        holder: randomUUID(),
        state: update.state,
        leaseUntil: update.leaseUntil,
        ...(authorization === undefined ? {} : { authorization }),
        ...(update.imageId === undefined ? {} : { imageId: update.imageId }),
        // A new pending holder starts over; a settling one keeps the hash the chain is asked about.
        ...(update.state === 'settling' && transaction !== undefined ? { transaction } : {}),
      });
      return taken === undefined ? { kind: 'lost' } : { kind: 'taken', holder: taken };
    },

    renew: (holder, leaseUntil) => replace(holder, { ...holder, version: holder.version + 1, leaseUntil }),

    settling: (holder, update) =>
      replace(holder, {
        ...holder,
        version: holder.version + 1,
        state: 'settling',
        leaseUntil: update.leaseUntil,
        ...(update.transaction === undefined ? {} : { transaction: update.transaction }),
      }),

    async complete(holder, receipt, now) {
      const { transaction: _settled, ...rest } = holder;
      await store.put({
        ...rest,
        version: holder.version + 1,
        state: 'settled',
        leaseUntil: 0,
        receipt,
        expiresAt: Math.max(holder.expiresAt, now + options.retentionMs),
      });
    },

    async release(holder) {
      // The binding goes only with the purchase: after a takeover it belongs to the new holder.
      if (!(await store.remove(holder.key, holder.version))) return false;
      const bindingKey = holder.authorization?.key;
      if (bindingKey !== undefined) {
        const binding = await store.get(bindingKey, 0);
        if (binding?.holder === holder.key) await store.remove(binding.key, binding.version);
      }
      return true;
    },
  };
}
