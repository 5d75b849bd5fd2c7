import { randomUUID } from 'node:crypto';
import type { BatchSettlementPaymentRequirementsExtra, ChannelConfig } from '@x402/evm';
import type { Channel, ChannelStorage } from '@x402/evm/batch-settlement/server';

/**
 * The gateway's request processing for one `batch-settlement` channel (x402 spec
 * `scheme_batch_settlement_evm.md`, "Request Processing"), over the `ChannelStorage` port:
 *
 *   reserve ──reserved──> (run the handler: generate, store the image) ──> commit | release
 *      ├─ mismatch        the voucher is not `chargedCumulativeAmount + price`: the corrective 402
 *      ├─ busy            another request holds the channel (after waiting `waitMs` for it)
 *      └─ rejected        exceeds_balance | below_claimed | unknown_channel
 *
 * Requests on one channel are serialized by the reservation (the record's `pendingRequest`, the
 * same field the official scheme uses, so its channel manager sees it): a second request waits
 * until the first commits or releases, then is judged against the new cumulative amount. The
 * charge (`chargedCumulativeAmount`, the voucher and its signature) is written only by `commit`,
 * after the handler succeeded; `release` leaves the channel as it was, so the same voucher can be
 * retried. A reservation whose holder died expires after `reservationTtlMs`.
 */

/** Mirrored on-chain channel fields, from the facilitator's verify or settle answer. */
export interface OnchainChannelState {
  readonly balance: bigint;
  readonly totalClaimed: bigint;
  readonly withdrawRequestedAt: number;
  readonly refundNonce: number;
}

export interface ReserveParameters {
  readonly channelId: `0x${string}`;
  readonly channelConfig: ChannelConfig;
  /** The voucher of this request (its signature already verified, locally or by the facilitator). */
  readonly voucher: { readonly maxClaimableAmount: bigint; readonly signature: `0x${string}` };
  /** `PaymentRequirements.amount` of this request. */
  readonly price: bigint;
  /**
   * The facilitator's channel snapshot when it verified this payload (deposits always, vouchers
   * when the mirror is stale); absent when the voucher was verified locally against the mirror.
   */
  readonly onchain?: OnchainChannelState | undefined;
  /** A deposit payload's amount: the voucher may spend it once the deposit settles. */
  readonly depositAmount?: bigint | undefined;
}

export interface Reservation {
  readonly channelId: string;
  readonly pendingId: string;
  readonly price: bigint;
  readonly voucher: ReserveParameters['voucher'];
  /** The cumulative amount the voucher was judged against. */
  readonly base: bigint;
  /** This reservation created the channel record (nothing stored before it). */
  readonly created: boolean;
}

type BatchSettlementChannelStateExtra = NonNullable<BatchSettlementPaymentRequirementsExtra['channelState']>;
type BatchSettlementVoucherStateExtra = NonNullable<BatchSettlementPaymentRequirementsExtra['voucherState']>;

/** What the spec's corrective 402 puts in `accepts[].extra` (and a payment response in `extra`). */
export interface ChannelSnapshot {
  readonly channelState: Required<BatchSettlementChannelStateExtra>;
  readonly voucherState: BatchSettlementVoucherStateExtra;
}

export type RejectReason = 'exceeds_balance' | 'below_claimed' | 'unknown_channel';

export type ReserveResult =
  | { readonly kind: 'reserved'; readonly reservation: Reservation }
  | ({ readonly kind: 'mismatch' } & ChannelSnapshot)
  | { readonly kind: 'busy' }
  | { readonly kind: 'rejected'; readonly reason: RejectReason };

export type CommitResult =
  | ({
      readonly kind: 'committed';
      readonly channel: Channel;
      readonly chargedAmount: bigint;
    } & ChannelSnapshot)
  /** The reservation is gone (expired and taken by another request): nothing was charged. */
  | { readonly kind: 'lost' }
  /** Committing would pass the voucher's ceiling or the balance: nothing charged, reservation freed. */
  | { readonly kind: 'rejected'; readonly reason: 'cap_exceeded' | 'exceeds_balance' };

export interface ChannelLedger {
  reserve(params: ReserveParameters): Promise<ReserveResult>;
  /**
   * Commit the charge after the handler succeeded. `charge` ≤ the reserved price (default: the
   * price); `onchain` mirrors the settle answer of a deposit. Idempotent: a retry after a lost
   * answer reports the commit that happened.
   */
  commit(
    reservation: Reservation,
    options?: { readonly charge?: bigint; readonly onchain?: OnchainChannelState },
  ): Promise<CommitResult>;
  /** The handler failed: free the channel, leaving its charge and voucher as they were. */
  release(reservation: Reservation): Promise<void>;
  /** The corrective-402 data of a channel, or `undefined` when there is no record. */
  snapshot(channelId: string): Promise<ChannelSnapshot | undefined>;
}

export interface ChannelLedgerOptions {
  /** How long a reservation holds the channel if its holder never commits or releases. */
  readonly reservationTtlMs: number;
  /** How long `reserve` waits for another request's reservation before answering `busy`. */
  readonly waitMs: number;
  readonly now?: () => number;
}

/** Before any voucher is committed a new channel's record holds no signature. */
const NO_SIGNATURE = '0x';

export function snapshotOf(channel: Channel): ChannelSnapshot {
  return {
    channelState: {
      channelId: channel.channelId as `0x${string}`,
      balance: channel.balance,
      totalClaimed: channel.totalClaimed,
      withdrawRequestedAt: channel.withdrawRequestedAt,
      refundNonce: String(channel.refundNonce),
      chargedCumulativeAmount: channel.chargedCumulativeAmount,
    },
    voucherState: {
      signedMaxClaimable: channel.signedMaxClaimable,
      signature: channel.signature as `0x${string}`,
    },
  };
}

/** Without a record, the corrective state is the chain's: charged = totalClaimed, no voucher. */
function onchainSnapshot(channelId: string, onchain: OnchainChannelState): ChannelSnapshot {
  return {
    channelState: {
      channelId: channelId.toLowerCase() as `0x${string}`,
      ...mirrored(onchain),
      refundNonce: String(onchain.refundNonce),
      chargedCumulativeAmount: onchain.totalClaimed.toString(),
    },
    voucherState: {},
  };
}

const mirrored = (onchain: OnchainChannelState) => ({
  balance: onchain.balance.toString(),
  totalClaimed: onchain.totalClaimed.toString(),
  withdrawRequestedAt: onchain.withdrawRequestedAt,
  refundNonce: onchain.refundNonce,
});

/**
 * @example
 * const ledger = createChannelLedger(createChannelStorage(store), { reservationTtlMs: 60_000, waitMs: 5_000 });
 * const reserved = await ledger.reserve({ channelId, channelConfig, voucher, price, onchain });
 * if (reserved.kind === 'reserved') {
 *   try { await generateAndStore(); } catch (e) { await ledger.release(reserved.reservation); throw e; }
 *   await ledger.commit(reserved.reservation);
 * }
 */
export function createChannelLedger(storage: ChannelStorage, options: ChannelLedgerOptions): ChannelLedger {
  const now = options.now ?? Date.now;
  const live = (channel: Channel | undefined, at: number) =>
    channel?.pendingRequest !== undefined && channel.pendingRequest.expiresAt > at;

  type Attempt = Exclude<ReserveResult, { kind: 'busy' }> | { kind: 'busy' };
  const tryReserve = async (params: ReserveParameters): Promise<Attempt> => {
    const at = now();
    const pendingId = randomUUID();
    let outcome: Attempt = { kind: 'busy' };
    await storage.updateChannel(params.channelId, (current) => {
      if (live(current, at)) {
        outcome = { kind: 'busy' };
        return current;
      }
      // No record: the spec's server-state-loss baseline is the on-chain totalClaimed.
      if (current === undefined && params.onchain === undefined) {
        outcome = { kind: 'rejected', reason: 'unknown_channel' };
        return current;
      }
      const chain: OnchainChannelState = params.onchain ?? {
        balance: BigInt(current?.balance ?? 0),
        totalClaimed: BigInt(current?.totalClaimed ?? 0),
        withdrawRequestedAt: current?.withdrawRequestedAt ?? 0,
        refundNonce: current?.refundNonce ?? 0,
      };
      const base = current === undefined ? chain.totalClaimed : BigInt(current.chargedCumulativeAmount);
      const signed = params.voucher.maxClaimableAmount;
      if (signed !== base + params.price) {
        outcome = {
          kind: 'mismatch',
          ...(current === undefined ? onchainSnapshot(params.channelId, chain) : snapshotOf(current)),
        };
        return current;
      }
      // A charge the mirrored balance no longer covers (a finalized withdrawal) can take no more.
      if (base > chain.balance || signed > chain.balance + (params.depositAmount ?? 0n)) {
        outcome = { kind: 'rejected', reason: 'exceeds_balance' };
        return current;
      }
      if (signed <= chain.totalClaimed) {
        outcome = { kind: 'rejected', reason: 'below_claimed' };
        return current;
      }
      const reservation: Reservation = {
        channelId: params.channelId.toLowerCase(),
        pendingId,
        price: params.price,
        voucher: params.voucher,
        base,
        created: current === undefined,
      };
      outcome = { kind: 'reserved', reservation };
      const pendingRequest = {
        pendingId,
        signedMaxClaimable: signed.toString(),
        expiresAt: at + options.reservationTtlMs,
      };
      if (current === undefined) {
        return {
          channelId: reservation.channelId,
          channelConfig: params.channelConfig,
          chargedCumulativeAmount: base.toString(),
          signedMaxClaimable: base.toString(),
          signature: NO_SIGNATURE,
          ...mirrored(chain),
          onchainSyncedAt: at,
          lastRequestTimestamp: at,
          pendingRequest,
        };
      }
      // Only the reservation and the on-chain mirror change here; the charge waits for `commit`.
      return {
        ...current,
        ...(params.onchain === undefined ? {} : { ...mirrored(params.onchain), onchainSyncedAt: at }),
        pendingRequest,
      };
    });
    return outcome;
  };

  return {
    async reserve(params) {
      const deadline = now() + options.waitMs;
      for (let attempt = 0; ; attempt++) {
        const outcome = await tryReserve(params);
        if (outcome.kind !== 'busy' || now() >= deadline) return outcome;
        // Wait for the holder to commit or release (or its reservation to expire).
        await new Promise((resolve) => setTimeout(resolve, Math.min(5 + attempt * 5, 50)));
      }
    },

    async commit(reservation, commitOptions = {}) {
      const charge = commitOptions.charge ?? reservation.price;
      if (charge < 0n || charge > reservation.price) {
        throw new RangeError(`charge ${charge} is outside 0..${reservation.price}`);
      }
      const at = now();
      let outcome: CommitResult = { kind: 'lost' };
      const signed = reservation.voucher.maxClaimableAmount.toString();
      await storage.updateChannel(reservation.channelId, (current) => {
        if (current?.pendingRequest?.pendingId !== reservation.pendingId) {
          // Already committed by this reservation (a retry after a lost answer): report it.
          outcome =
            current !== undefined &&
            current.signature === reservation.voucher.signature &&
            current.signedMaxClaimable === signed
              ? {
                  kind: 'committed',
                  channel: current,
                  chargedAmount: charge,
                  ...snapshotOf(current),
                }
              : { kind: 'lost' };
          return current;
        }
        const { pendingRequest: _done, ...rest } = current;
        const charged = BigInt(current.chargedCumulativeAmount) + charge;
        const balance = commitOptions.onchain?.balance ?? BigInt(current.balance);
        if (charged > reservation.voucher.maxClaimableAmount || charged > balance) {
          outcome = {
            kind: 'rejected',
            reason: charged > reservation.voucher.maxClaimableAmount ? 'cap_exceeded' : 'exceeds_balance',
          };
          return rest;
        }
        const next: Channel = {
          ...rest,
          ...(commitOptions.onchain === undefined
            ? {}
            : { ...mirrored(commitOptions.onchain), onchainSyncedAt: at }),
          chargedCumulativeAmount: charged.toString(),
          signedMaxClaimable: signed,
          signature: reservation.voucher.signature,
          lastRequestTimestamp: at,
        };
        outcome = { kind: 'committed', channel: next, chargedAmount: charge, ...snapshotOf(next) };
        return next;
      });
      return outcome;
    },

    async release(reservation) {
      await storage.updateChannel(reservation.channelId, (current) => {
        if (current?.pendingRequest?.pendingId !== reservation.pendingId) return current;
        // A record this reservation created, never charged: absent before, absent after.
        if (reservation.created && current.signature === NO_SIGNATURE) return undefined;
        const { pendingRequest: _released, ...rest } = current;
        return rest;
      });
    },

    async snapshot(channelId) {
      const channel = await storage.get(channelId);
      return channel === undefined ? undefined : snapshotOf(channel);
    },
  };
}
