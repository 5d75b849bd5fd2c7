import { randomUUID } from 'node:crypto';
import type {
  PaymentRequirements as CorePaymentRequirements,
  SettleResponse as CoreSettleResponse,
} from '@x402/core/types';
import { BATCH_SETTLEMENT_ADDRESS, BATCH_SETTLEMENT_DOMAIN, voucherTypes } from '@x402/evm';
import { computeChannelId } from '@x402/evm/batch-settlement/client';
import { getAddress, verifyTypedData, zeroAddress } from 'viem';
import type { BatchSettlementPaymentPayload } from './batch-settlement-payload.ts';
import type { ChannelPayments } from './channel-payments.ts';
import type { StoredImage } from './image-store.ts';
import { paymentIdentifierOf } from './payment-identifier.ts';
import type { AuthorizationRef, LedgerRecord, StoredReceipt } from './payment-store.ts';
import {
  DEFAULT_PURCHASE_DEADLINE,
  generateAndStore,
  PENDING_LEASE_MS,
  type PurchaseDeps,
  type PurchaseInput,
  type PurchaseOutcome,
  purchaseFingerprint,
  purchaseKey,
  RETENTION_MS,
  RETRY_AFTER_SECONDS,
} from './purchase-image.ts';
import { type ConflictReason, createPurchaseLedger, type PurchaseLedger } from './purchase-ledger.ts';
import { GATEWAY_ERRORS, passThrough } from './reasons.ts';
import type { ServerRequirements } from './requirements.ts';

/** The spec's corrective-402 code (the client resynchronizes from `accepts[].extra`). */
export const CUMULATIVE_AMOUNT_MISMATCH = 'invalid_batch_settlement_evm_cumulative_amount_mismatch';

export interface ChannelPurchaseDeps extends PurchaseDeps {
  readonly channels: ChannelPayments;
}

export interface ChannelPurchaseInput extends Omit<PurchaseInput, 'payment'> {
  readonly payment: BatchSettlementPaymentPayload;
}

export type ChannelPurchaseOutcome =
  | Exclude<PurchaseOutcome, { kind: 'delivered' } | { kind: 'rejected' }>
  | {
      readonly kind: 'delivered';
      readonly receipt: StoredReceipt;
      readonly image: StoredImage;
      readonly replayed: boolean;
      readonly channelId: string;
      /** The PAYMENT-RESPONSE of this request (absent on a replay: nothing was charged now). */
      readonly response: CoreSettleResponse | undefined;
    }
  /** A cooperative refund was sent (no image). */
  | { readonly kind: 'refunded'; readonly channelId: string; readonly response: CoreSettleResponse }
  /** A 402; `offer` is the batch-settlement entry to answer with (corrected after a mismatch). */
  | {
      readonly kind: 'rejected';
      readonly code: string;
      readonly message: string;
      readonly offer?: CorePaymentRequirements | undefined;
    };

const same = (a: string, b: string) => a.toLowerCase() === b.toLowerCase();
const reject = (code: string, message: string, offer?: CorePaymentRequirements): ChannelPurchaseOutcome => ({
  kind: 'rejected',
  code,
  message,
  offer,
});

/**
 * Match a batch-settlement payment against the server's own terms before anything else: network,
 * asset, payee, price (the echo and the channel config). Receiver authorizer, withdraw delay,
 * channel id binding and the signature are the scheme's checks (codes `invalid_batch_settlement_evm_*`).
 */
export function matchChannelPayment(
  payment: BatchSettlementPaymentPayload,
  req: ServerRequirements,
): { ok: true } | { ok: false; code: string; message: string } {
  const { accepted, payload } = payment;
  const no = (code: string, message: string) => ({ ok: false as const, code, message });
  if (accepted.network !== req.network.caip2) {
    return no(GATEWAY_ERRORS.networkMismatch, `payment is for ${accepted.network}, not ${req.network.caip2}`);
  }
  if (!same(accepted.asset, req.asset) || !same(payload.channelConfig.token, req.asset)) {
    return no(GATEWAY_ERRORS.assetMismatch, 'the channel is not in this server’s USDC');
  }
  if (!same(accepted.payTo, req.payTo) || !same(payload.channelConfig.receiver, req.payTo)) {
    return no(GATEWAY_ERRORS.payToMismatch, 'the channel pays another receiver');
  }
  const amount = BigInt(accepted.amount);
  if (amount < req.amount) {
    return no(GATEWAY_ERRORS.insufficientPayment, `accepted amount is ${amount}, price is ${req.amount}`);
  }
  if (amount !== req.amount) {
    return no(GATEWAY_ERRORS.amountMismatch, `accepted amount must be ${req.amount} atomic USDC`);
  }
  return { ok: true };
}

/** An EOA voucher signed by the channel's payer authorizer for this channel (one recovery, no RPC). */
export async function voucherSignedByPayer(
  payment: BatchSettlementPaymentPayload,
  network: ServerRequirements['network'],
): Promise<boolean> {
  const { channelConfig, voucher } = payment.payload;
  if (same(channelConfig.payerAuthorizer, zeroAddress)) return false;
  if (!same(computeChannelId(channelConfig, network.chainId), voucher.channelId)) return false;
  try {
    return await verifyTypedData({
      address: getAddress(channelConfig.payerAuthorizer),
      domain: {
        ...BATCH_SETTLEMENT_DOMAIN,
        chainId: network.chainId,
        verifyingContract: BATCH_SETTLEMENT_ADDRESS,
      },
      types: voucherTypes,
      primaryType: 'Voucher',
      message: { channelId: voucher.channelId, maxClaimableAmount: BigInt(voucher.maxClaimableAmount) },
      signature: voucher.signature as `0x${string}`,
    });
  } catch {
    return false;
  }
}

interface Context {
  readonly deps: ChannelPurchaseDeps;
  readonly input: ChannelPurchaseInput;
  readonly offer: CorePaymentRequirements;
  readonly ledger: PurchaseLedger;
  readonly authorization: AuthorizationRef;
  readonly deadlineAt: number;
  readonly settleReserveMs: number;
}

/**
 * The paid path of `POST /generate_image` for `batch-settlement`:
 * match → begin → verify (reserve the channel) → generate → store → commit → complete → deliver.
 *
 * The request id buys once, as with `exact` (the purchase ledger): a retry of a delivered purchase
 * gets the stored image for a voucher its payer signed, and is not charged again. The charge is
 * committed only after the image is stored; a failed generation clears the reservation and the
 * same voucher can pay again. A refund payload skips all of it: the refund is sent at once.
 */
export async function purchaseWithChannel(
  deps: ChannelPurchaseDeps,
  input: ChannelPurchaseInput,
): Promise<ChannelPurchaseOutcome> {
  const budget = deps.deadline ?? DEFAULT_PURCHASE_DEADLINE;
  const deadlineAt = Date.now() + budget.requestMs;
  const match = matchChannelPayment(input.payment, input.requirements);
  if (!match.ok) return reject(match.code, match.message);
  const offer = await deps.channels.offer(input.requirements);
  if (offer === undefined) {
    return reject(
      GATEWAY_ERRORS.unsupportedScheme,
      'batch-settlement is not available right now; pay with exact',
    );
  }
  const identifier = paymentIdentifierOf(input.payment);
  if (identifier !== undefined && !identifier.ok) {
    return reject(
      GATEWAY_ERRORS.invalidPaymentIdentifier,
      'payment-identifier id must be 16-128 of [A-Za-z0-9_-]',
      offer,
    );
  }
  if (input.payment.payload.type === 'refund') return refund(deps, input, offer);

  const key = purchaseKey(input);
  const { voucher, channelConfig } = input.payment.payload;
  const ctx: Context = {
    deps,
    input,
    offer,
    ledger: createPurchaseLedger(deps.paymentStore, { retentionMs: RETENTION_MS }),
    // A voucher is spent by the channel itself (its cumulative amount moves on), not by a binding:
    // no key, so the ledger writes no binding record, and a client that resends a voucher under
    // another request id after a failure is judged by the channel (stale → corrective 402).
    authorization: {
      payer: channelConfig.payer,
      nonce: voucher.maxClaimableAmount,
      validBefore: String(Math.floor(deps.clock.now() / 1000) + offer.maxTimeoutSeconds),
    },
    deadlineAt,
    settleReserveMs: budget.settleReserveMs,
  };
  const now = deps.clock.now();
  const begun = await ctx.ledger.begin({
    key,
    requestId: input.requestId,
    fingerprint: purchaseFingerprint(input),
    authorization: ctx.authorization,
    imageId: randomUUID(),
    leaseUntil: now + PENDING_LEASE_MS,
    expiresAt: now + RETENTION_MS,
    now,
  });
  switch (begun.kind) {
    case 'replay': {
      // No content for a payment not verified in this request: the voucher must be the payer's.
      if (!(await voucherSignedByPayer(input.payment, input.requirements.network))) {
        return reject(
          'invalid_batch_settlement_evm_voucher_signature',
          'the voucher is not signed by the payer',
          offer,
        );
      }
      const image = await deps.imageStore.get(begun.receipt.imageId);
      if (image === undefined)
        throw new Error(`image ${begun.receipt.imageId} of a delivered purchase is missing`);
      return {
        kind: 'delivered',
        receipt: begun.receipt,
        image,
        replayed: true,
        channelId: voucher.channelId,
        response: undefined,
      };
    }
    case 'conflict':
      return conflict(begun.reason);
    case 'in_progress':
      return inProgress();
    case 'recover': {
      // The holder died (or lost its answer). Take the purchase over and buy with this request's
      // voucher; a stored image is reused, and a charge that was committed is recognised (buy).
      const taken = await ctx.ledger.takeOver(begun.record, {
        state: 'pending',
        leaseUntil: now + PENDING_LEASE_MS,
        now,
        imageId: begun.record.imageId ?? randomUUID(),
      });
      if (taken.kind === 'conflict') return conflict(taken.reason);
      if (taken.kind === 'lost') return inProgress();
      await clearDeadReservation(ctx, begun.record);
      return buy(ctx, taken.holder);
    }
    case 'fresh':
      return buy(ctx, begun.holder);
  }
}

/**
 * The dead holder of a purchase (its lease passed: a crash, a kill -9) may have left its channel
 * reservation behind, which would keep the channel busy until it expires (up to 5 minutes).
 * Clearing it is safe for the money: a charge is committed only by the reservation that made it
 * (the scheme matches its `pendingId`) and only as `charged + price ≤ the signed voucher`; at worst
 * a live request holding it fails with `channel_busy` and charges nothing. Only a reservation for
 * this purchase's own voucher amount is cleared.
 */
async function clearDeadReservation(ctx: Context, record: LedgerRecord): Promise<void> {
  const amount = record.authorization?.nonce;
  const { channelId } = ctx.input.payment.payload.voucher;
  const channel = await ctx.deps.channels.storage.get(channelId);
  const pending = channel?.pendingRequest;
  if (pending === undefined || amount === undefined || pending.signedMaxClaimable !== amount) return;
  await ctx.deps.channels.storage.updateChannel(channelId, (current) => {
    if (current?.pendingRequest?.pendingId !== pending.pendingId) return current;
    const { pendingRequest: _dead, ...rest } = current;
    return rest;
  });
  ctx.deps.logger.warn('channel_reservation_cleared', {
    request_id: record.requestId,
    channel_id: channelId,
  });
}

async function buy(ctx: Context, holder: LedgerRecord): Promise<ChannelPurchaseOutcome> {
  const { deps, input, offer, ledger } = ctx;
  const imageId = holder.imageId;
  if (imageId === undefined) throw new Error('purchase record without an image id');
  let verified: Awaited<ReturnType<ChannelPayments['verify']>>;
  try {
    verified = await deps.channels.verify(input.payment, offer);
  } catch (error) {
    await ledger.release(holder);
    throw error;
  }
  if (verified.kind !== 'verified') {
    if (verified.kind === 'rejected' && verified.code === CUMULATIVE_AMOUNT_MISMATCH) {
      const committed = await committedEarlier(ctx, holder);
      if (committed !== undefined) return committed;
    }
    await ledger.release(holder);
    if (verified.kind === 'refund') throw new Error('a refund verified as a paid request');
    const corrected = { ...offer, extra: structuredClone(offer.extra) };
    if (verified.code === CUMULATIVE_AMOUNT_MISMATCH) {
      await deps.channels.correct(input.payment, [corrected], verified.code, {
        url: input.requirements.resource,
        description: input.requirements.description,
        mimeType: 'application/json',
      });
    }
    return reject(verified.code, verified.message, corrected);
  }

  // The image may exist already (a takeover after a crash between store and commit): reuse it.
  let image = await deps.imageStore.get(imageId);
  if (image === undefined) {
    const generated = await generateAndStore(deps, input, imageId, ctx);
    if (generated.kind === 'failed') {
      await deps.channels.cancel(input.payment, offer);
      await ledger.release(holder);
      return generated.outcome as ChannelPurchaseOutcome;
    }
    image = generated.image;
  }

  let settled: Awaited<ReturnType<ChannelPayments['settle']>>;
  try {
    settled = await deps.channels.settle(input.payment, offer);
  } catch (error) {
    // The commit (or the deposit) may or may not have happened: keep the purchase; the retry
    // resolves it from the channel record (`committedEarlier`).
    await ledger.settling(holder, { leaseUntil: deps.clock.now() });
    throw error;
  }
  if (settled.kind === 'rejected') {
    await ledger.release(holder);
    return reject(passThrough(settled.code), settled.message, offer);
  }
  return complete(ctx, holder, image, settled.response);
}

/**
 * A stale voucher on a purchase that was already being bought: if the channel's latest charge is
 * this very voucher (same amount and signature) and the image is stored, the charge was committed
 * and only the answer was lost (a crash between commit and `complete`): deliver, charge nothing more.
 */
async function committedEarlier(
  ctx: Context,
  holder: LedgerRecord,
): Promise<ChannelPurchaseOutcome | undefined> {
  const { voucher } = ctx.input.payment.payload;
  // A fresh purchase has a new image id, never stored: only a taken-over one can match.
  if (holder.imageId === undefined) return undefined;
  const channel = await ctx.deps.channels.storage.get(voucher.channelId);
  if (
    channel === undefined ||
    channel.chargedCumulativeAmount !== voucher.maxClaimableAmount ||
    channel.signedMaxClaimable !== voucher.maxClaimableAmount ||
    !same(channel.signature, voucher.signature)
  ) {
    return undefined;
  }
  const image = await ctx.deps.imageStore.get(holder.imageId);
  if (image === undefined) return undefined;
  ctx.deps.logger.warn('channel_charge_recovered', {
    request_id: holder.requestId,
    channel_id: channel.channelId,
  });
  return complete(ctx, holder, image, undefined);
}

async function complete(
  ctx: Context,
  holder: LedgerRecord,
  image: StoredImage,
  response: CoreSettleResponse | undefined,
): Promise<ChannelPurchaseOutcome> {
  const { deps, input } = ctx;
  const receipt: StoredReceipt = {
    // A voucher charge has no transaction of its own; a deposit request has the deposit's.
    transaction: response?.transaction ?? '',
    payer: input.payment.payload.channelConfig.payer,
    network: input.requirements.network.id,
    atomicAmount: input.requirements.amount.toString(),
    imageId: holder.imageId ?? '',
    mimeType: image.mimeType,
    settledAt: deps.clock.now(),
  };
  await ctx.ledger.complete(holder, receipt, deps.clock.now()).catch((error: unknown) => {
    deps.logger.error('settled_record_not_saved', {
      request_id: holder.requestId,
      detail: error instanceof Error ? error.message : String(error),
    });
  });
  return {
    kind: 'delivered',
    receipt,
    image,
    replayed: false,
    channelId: input.payment.payload.voucher.channelId,
    response,
  };
}

async function refund(
  deps: ChannelPurchaseDeps,
  input: ChannelPurchaseInput,
  offer: CorePaymentRequirements,
): Promise<ChannelPurchaseOutcome> {
  const verified = await deps.channels.verify(input.payment, offer);
  if (verified.kind === 'rejected') {
    const corrected = { ...offer, extra: structuredClone(offer.extra) };
    if (verified.code === CUMULATIVE_AMOUNT_MISMATCH) {
      await deps.channels.correct(input.payment, [corrected], verified.code, {
        url: input.requirements.resource,
        description: input.requirements.description,
        mimeType: 'application/json',
      });
    }
    return reject(verified.code, verified.message, corrected);
  }
  const settled = await deps.channels.settle(input.payment, offer);
  if (settled.kind === 'rejected') return reject(passThrough(settled.code), settled.message, offer);
  deps.logger.info('channel_refunded', {
    channel_id: input.payment.payload.voucher.channelId,
    transaction: settled.response.transaction,
    amount: settled.response.amount,
  });
  return { kind: 'refunded', channelId: input.payment.payload.voucher.channelId, response: settled.response };
}

function conflict(reason: ConflictReason): ChannelPurchaseOutcome {
  return {
    kind: 'failed',
    status: 409,
    code: GATEWAY_ERRORS.requestIdConflict,
    message:
      reason === 'payer'
        ? 'this request id was bought by another payer'
        : 'this request id was already used for another purchase',
  };
}

function inProgress(): ChannelPurchaseOutcome {
  return {
    kind: 'failed',
    status: 409,
    code: GATEWAY_ERRORS.paymentInProgress,
    message: 'a request for this purchase is still being processed; retry shortly',
    retryAfterSeconds: RETRY_AFTER_SECONDS,
  };
}
