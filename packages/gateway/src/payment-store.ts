/**
 * Payment store port: the few primitive operations the purchase ledger (`purchase-ledger.ts`) needs
 * from a table keyed by `key`. Every guard, state and lease rule lives in the ledger; an adapter
 * only knows "create if absent", "replace if the version is still this one", "delete if the
 * version is still this one", an unconditional put and a read (the shape of Powertools'
 * idempotency persistence layer: `BasePersistenceLayer` over a handful of store calls).
 *
 * Two kinds of record share the table:
 * - a purchase (key `purchase:...`): one per idempotency key (the request id, or the client's x402
 *   `payment-identifier`); its state machine is in the ledger;
 * - an authorization binding (key = `authorizationKey`): ties one EIP-3009 authorization to the one
 *   purchase it may ever pay for, so an authorization is used at most once across every gateway
 *   instance that shares the store;
 * - a payment channel (key `channel:<channelId>`, state `open`) and the channel index shards (key
 *   `channel-index:<hex digit>`) of `batch-settlement` sessions: their content is an opaque JSON
 *   `document` owned by `channel-storage.ts`; they never expire (`expiresAt` = `NEVER_EXPIRES`);
 * - the settle-due flag (key `channel-settle-due`): raised after a cooperative refund claimed
 *   vouchers on chain (its `document` names those channels), lowered by the claim job once it has
 *   settled them to the seller;
 * - a channel's transaction log (key `channel-log:<channelId>`, `channel-log.ts`): the claim,
 *   settle and refund transactions the gateway sent for it, for its payer.
 */
export type LedgerState = 'pending' | 'settling' | 'settled' | 'bound' | 'open';

export type LedgerKind =
  | 'purchase'
  | 'authorization'
  | 'channel'
  | 'channel-index'
  | 'settle-due'
  | 'channel-log';

/** `expiresAt` of a record that lives until it is deleted (no TTL attribute is written for it). */
export const NEVER_EXPIRES = Number.MAX_SAFE_INTEGER;

/** What the gateway keeps to answer a retry of a settled purchase without settling again. */
export interface StoredReceipt {
  readonly transaction: string;
  readonly payer: string;
  readonly network: string;
  readonly atomicAmount: string;
  readonly imageId: string;
  readonly mimeType: string;
  readonly settledAt: number;
}

/** The authorization a purchase is paid with (what the chain is asked about on recovery). */
export interface AuthorizationRef {
  /**
   * `authorizationKey(...)` of the authorization: the ledger binds it to one purchase (an EIP-3009
   * authorization pays once, ever). Absent: nothing to bind (a channel voucher is spent by its
   * channel, whose cumulative amount moves on; see `purchase-channel.ts`).
   */
  readonly key?: string | undefined;
  readonly payer: string;
  readonly nonce: string;
  /** EIP-3009 validBefore, seconds since epoch (decimal string). */
  readonly validBefore: string;
}

export interface LedgerRecord {
  readonly key: string;
  readonly kind: LedgerKind;
  readonly state: LedgerState;
  /** Incremented by every conditional replace: the only thing an adapter compares. */
  readonly version: number;
  /** Purchase: the holder's token. Authorization binding: the purchase key it is bound to. */
  readonly holder: string;
  readonly requestId: string;
  /** sha256 of what is bought (prompt, size, quality, price, payee, asset). */
  readonly fingerprint: string;
  /** ms since epoch; the holder of a pending/settling purchase must finish (or renew) before this. */
  readonly leaseUntil: number;
  /** ms since epoch; the record is treated as absent afterwards (DynamoDB TTL deletes late). */
  readonly expiresAt: number;
  readonly createdAt: number;
  /** The id the purchase's image is stored under (settle is sent only after it exists). */
  readonly imageId?: string | undefined;
  readonly authorization?: AuthorizationRef | undefined;
  /** A settlement transaction whose outcome is not known yet. */
  readonly transaction?: string | undefined;
  readonly receipt?: StoredReceipt | undefined;
  /** Channel and channel-index records: their JSON content (the adapter stores it as is). */
  readonly document?: string | undefined;
}

export type CreateResult =
  | { readonly created: true }
  | { readonly created: false; readonly existing: LedgerRecord };

export type ReplaceResult =
  | { readonly replaced: true }
  /** `existing` is the record that made the condition fail (absent when it was deleted). */
  | { readonly replaced: false; readonly existing: LedgerRecord | undefined };

export interface PaymentStore {
  /** Write `record` unless a live one (expiresAt > now) holds the key; else return the live one. */
  create(record: LedgerRecord, now: number): Promise<CreateResult>;
  /** Write `record` (whose version is `expectedVersion + 1`) only while the stored version is `expectedVersion`. */
  replace(record: LedgerRecord, expectedVersion: number): Promise<ReplaceResult>;
  /** Delete the record only while its version is `expectedVersion`; returns whether it did. */
  remove(key: string, expectedVersion: number): Promise<boolean>;
  /** Unconditional write (a settled purchase: the transfer happened, whoever holds the lease). */
  put(record: LedgerRecord): Promise<void>;
  /** The live record, or `undefined` if absent or past `expiresAt`. */
  get(key: string, now: number): Promise<LedgerRecord | undefined>;
}

/** The replay key of an EIP-3009 authorization: unique per (network, token, payer, nonce). */
export function authorizationKey(parts: {
  readonly network: string;
  readonly asset: string;
  readonly payer: string;
  readonly nonce: string;
}): string {
  return [parts.network, parts.asset, parts.payer, parts.nonce].map((p) => p.toLowerCase()).join(':');
}
