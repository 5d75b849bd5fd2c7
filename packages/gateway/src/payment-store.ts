/**
 * Payment store port: one record per EIP-3009 authorization, so that an authorization is used at
 * most once across every gateway instance that shares the store.
 *
 * Life cycle of a record (all transitions are conditional writes in the adapters):
 *
 *   (absent) --reserve--> pending ----------------------------> settled
 *                            |  \                                 ^
 *                            |   +--(settle outcome unknown,      |
 *                            |       or not final yet)--> settling +
 *                            +--release--> (absent)  (verify, generation or settlement refused)
 *
 * A record is reserved `pending` with the id its image will be stored under. The holder verifies,
 * generates, stores the image under that id and only then calls settle: so a `pending` record whose
 * image is absent never reached the chain, and another request for the same purchase may take it
 * over once the lease passed. A `pending` record whose image exists, and any `settling` record,
 * may have moved the money: it is never taken over blindly; the chain decides (see
 * `purchase-image.ts`, `recoverSettling`).
 */
export type PaymentState = 'pending' | 'settling' | 'settled';

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

export interface PaymentRecord {
  /** `network:asset:payer:nonce`, lower-cased (see `authorizationKey`). */
  readonly key: string;
  readonly requestId: string;
  /** sha256 of the purchase (request body fields that change the product, and the price). */
  readonly fingerprint: string;
  readonly state: PaymentState;
  /** ms since epoch; the holder of a pending/settling record must finish (or renew) before this. */
  readonly leaseUntil: number;
  /** ms since epoch; the record is treated as absent afterwards (DynamoDB TTL deletes late). */
  readonly expiresAt: number;
  readonly createdAt: number;
  /** The id the purchase's image is stored under (set at reservation; settle only after it exists). */
  readonly imageId?: string | undefined;
  /** Set when settle answered with a transaction hash that is not final yet. */
  readonly transaction?: string | undefined;
  readonly receipt?: StoredReceipt | undefined;
}

export interface ReserveParameters {
  readonly key: string;
  readonly requestId: string;
  readonly fingerprint: string;
  readonly leaseUntil: number;
  readonly expiresAt: number;
  readonly now: number;
  /** The id the image of this purchase will be stored under. */
  readonly imageId?: string;
  /**
   * Create the record directly as `settled` with this receipt (one write instead of reserve +
   * transition). Only for records that hold nothing, like the per-request record that points a
   * paid request id at its receipt; an authorization is always reserved as `pending`.
   */
  readonly receipt?: StoredReceipt;
}

export interface SaveSettledParameters {
  /** The authorization's record as reserved (its key, request id, fingerprint, expiry, image id). */
  readonly authorization: PaymentRecord;
  readonly receipt: StoredReceipt;
  /** Key of the per-request record (see `purchase-image.ts`). */
  readonly requestKey: string;
  readonly requestExpiresAt: number;
  readonly now: number;
}

/** The two settled records `saveSettled` writes. */
export function settledRecords(params: SaveSettledParameters): [PaymentRecord, PaymentRecord] {
  const { authorization, receipt } = params;
  const settled = { state: 'settled' as const, leaseUntil: 0, receipt, transaction: undefined };
  return [
    { ...authorization, ...settled },
    {
      key: params.requestKey,
      requestId: authorization.requestId,
      fingerprint: authorization.fingerprint,
      ...settled,
      expiresAt: params.requestExpiresAt,
      createdAt: params.now,
      imageId: undefined,
    },
  ];
}

export type ReserveResult =
  | { readonly reserved: true; readonly record: PaymentRecord }
  | { readonly reserved: false; readonly existing: PaymentRecord };

/** Guard for a transition: the caller must still be the holder it thinks it is. */
export interface RecordGuard {
  readonly key: string;
  readonly requestId: string;
  readonly state: PaymentState;
  /** The lease the caller holds; a transition fails when someone else took the record over. */
  readonly leaseUntil: number;
}

export interface PaymentStore {
  /** Atomically create a pending record (or a settled one, see `receipt`); never overwrites a live one. */
  reserve(params: ReserveParameters): Promise<ReserveResult>;
  /**
   * Move a record to a new state / lease when `guard` still holds. Returns the new record, or
   * `undefined` when the guard failed (someone else holds or finished it).
   */
  transition(
    guard: RecordGuard,
    update: {
      readonly state: PaymentState;
      readonly leaseUntil: number;
      readonly expiresAt?: number;
      readonly imageId?: string;
      readonly transaction?: string;
      readonly receipt?: StoredReceipt;
    },
  ): Promise<PaymentRecord | undefined>;
  /** Delete the record when `guard` still holds; returns whether it did. */
  release(guard: RecordGuard): Promise<boolean>;
  /**
   * Store a settled purchase: the authorization's record as `settled` with the receipt, and the
   * per-request record pointing at the same receipt, in one request where the engine allows it.
   * Unconditional on purpose: the transfer happened, so this is the truth whoever holds the lease.
   */
  saveSettled(params: SaveSettledParameters): Promise<void>;
  /** The live record, or `undefined` if absent or past `expiresAt`. */
  get(key: string, now: number): Promise<PaymentRecord | undefined>;
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
