import { createHash, randomUUID } from 'node:crypto';
import { dimensionsOf, type ImageGenerator, ImagingError, isImagingError } from '@agentic-payments/imaging';
import { isAppError, type PaymentPayload } from '@agentic-payments/x402';
import type { ChainReader } from './chain-reader.ts';
import type { FacilitatorClient, FacilitatorRequest } from './facilitator-client.ts';
import type { ImageStore, StoredImage } from './image-store.ts';
import type { Logger } from './logger.ts';
import { matchPayment } from './match-payment.ts';
import {
  authorizationKey,
  type PaymentRecord,
  type PaymentStore,
  type RecordGuard,
  type StoredReceipt,
} from './payment-store.ts';
import { GATEWAY_ERRORS } from './reasons.ts';
import { type ServerRequirements, toV1Requirements, toV2Requirements } from './requirements.ts';

/** Holder lease from reservation through verify, generation, image store and settle. */
export const PENDING_LEASE_MS = 120_000;
/** Lease for one settle attempt; past it, a retry resolves the outcome from the chain. */
export const SETTLING_LEASE_MS = 90_000;
/** How long a record outlives its authorization's validBefore (answers retries of settled buys). */
export const RETENTION_MS = 7 * 24 * 3600 * 1000;
export const GENERATION_TIMEOUT_MS = 60_000;
export const RETRY_AFTER_SECONDS = 5;

export interface PurchaseDeps {
  readonly paymentStore: PaymentStore;
  readonly facilitator: FacilitatorClient;
  readonly imageGenerator: ImageGenerator;
  readonly imageStore: ImageStore;
  readonly clock: { now(): number };
  readonly logger: Logger;
  readonly chain?: ChainReader | undefined;
}

export interface PurchaseInput {
  readonly requestId: string;
  readonly prompt: string;
  readonly size: '1024x1024' | '2048x2048';
  readonly quality: 'standard' | 'premium';
  readonly requirements: ServerRequirements;
  /** The decoded header (strictly parsed: exactly what the client signed and sent). */
  readonly payment: PaymentPayload;
}

export type PurchaseOutcome =
  | {
      readonly kind: 'delivered';
      readonly receipt: StoredReceipt;
      readonly image: StoredImage;
      readonly replayed: boolean;
    }
  /** A 402: payment missing or unusable; nothing was settled. */
  | { readonly kind: 'rejected'; readonly code: string; readonly message: string }
  /** Any other non-200 answer (409, 202, 5xx). */
  | {
      readonly kind: 'failed';
      readonly status: 202 | 409 | 422 | 500 | 502 | 503 | 504;
      readonly code: string;
      readonly message: string;
      readonly transaction?: string | undefined;
      readonly retryAfterSeconds?: number | undefined;
    };

const guardOf = (record: PaymentRecord): RecordGuard => ({
  key: record.key,
  requestId: record.requestId,
  state: record.state,
  leaseUntil: record.leaseUntil,
});

/** What a purchase is: the same authorization may only ever buy this (and only for one request id). */
export function purchaseFingerprint(
  input: Pick<PurchaseInput, 'prompt' | 'size' | 'quality' | 'requirements'>,
) {
  const { requirements: r } = input;
  return createHash('sha256')
    .update(JSON.stringify([input.prompt, input.size, input.quality, r.amount.toString(), r.payTo, r.asset]))
    .digest('hex');
}

interface Context {
  readonly deps: PurchaseDeps;
  readonly input: PurchaseInput;
  readonly request: FacilitatorRequest;
  readonly payer: `0x${string}`;
  readonly nonce: `0x${string}`;
  readonly validBefore: bigint;
}

/**
 * The paid path of `POST /generate_image`: match → reserve → verify → generate → store → settle →
 * deliver. No charge without content (settle only after the image exists) and no content without
 * settlement (the image leaves only after settle succeeded). Each authorization is reserved
 * atomically in the shared payment store before anything else happens, so it is used at most once
 * across all gateway instances.
 */
export async function purchaseImage(deps: PurchaseDeps, input: PurchaseInput): Promise<PurchaseOutcome> {
  const { requirements } = input;
  const match = matchPayment(input.payment, requirements, deps.clock.now());
  if (!match.ok) return { kind: 'rejected', code: match.code, message: match.message };

  const auth = match.authorization;
  const ctx: Context = {
    deps,
    input,
    payer: auth.from as `0x${string}`,
    nonce: auth.nonce as `0x${string}`,
    validBefore: match.validBefore,
    request: {
      x402Version: input.payment.x402Version,
      paymentPayload: input.payment,
      paymentRequirements:
        input.payment.x402Version === 1 ? toV1Requirements(requirements) : toV2Requirements(requirements),
    },
  };
  const key = authorizationKey({
    network: requirements.network.caip2,
    asset: requirements.asset,
    payer: auth.from,
    nonce: auth.nonce,
  });
  const fingerprint = purchaseFingerprint(input);
  const now = deps.clock.now();
  // Three independent round trips side by side: verify only reads (its answer is used only if the
  // reservation is won), the reservation is the atomic claim on the authorization, and the lookup
  // finds a request that was already paid (a client that lost our 200 and pays again with a fresh
  // authorization gets the stored result; the new authorization is released, never settled).
  const verifying = settledOutcome(deps.facilitator.verify(ctx.request));
  const [prior, reservation] = await Promise.allSettled([
    deps.paymentStore.get(purchaseKey(input), now),
    deps.paymentStore.reserve({
      key,
      requestId: input.requestId,
      fingerprint,
      leaseUntil: now + PENDING_LEASE_MS,
      expiresAt: Number(match.validBefore) * 1000 + RETENTION_MS,
      now,
      imageId: randomUUID(),
    }),
  ]);
  if (reservation.status === 'rejected') throw reservation.reason;
  const reserved = reservation.value;
  if (prior.status === 'rejected') {
    if (reserved.reserved) await deps.paymentStore.release(guardOf(reserved.record));
    throw prior.reason;
  }
  const paid = prior.value;
  if (
    paid?.receipt !== undefined &&
    paid.state === 'settled' &&
    paid.fingerprint === fingerprint &&
    paid.receipt.payer.toLowerCase() === auth.from.toLowerCase()
  ) {
    if (reserved.reserved) await deps.paymentStore.release(guardOf(reserved.record));
    return deliverStored(ctx, paid.receipt);
  }
  if (reserved.reserved) return verifyAndGenerate(ctx, reserved.record, verifying);

  const existing = reserved.existing;
  if (existing.requestId !== input.requestId || existing.fingerprint !== fingerprint) {
    return {
      kind: 'failed',
      status: 409,
      code: GATEWAY_ERRORS.authorizationReused,
      message: 'this payment authorization was already used for another request',
    };
  }
  return resume(ctx, existing);
}

/** A retry of a purchase this store already knows: answer from the record, never settle twice. */
async function resume(ctx: Context, existing: PaymentRecord): Promise<PurchaseOutcome> {
  const { deps } = ctx;
  const now = deps.clock.now();
  if (existing.state === 'settled' && existing.receipt !== undefined) {
    return deliverStored(ctx, existing.receipt);
  }
  if (existing.leaseUntil > now) {
    if (existing.state === 'settling' && existing.transaction !== undefined) {
      return pending(existing.transaction);
    }
    return stillInProgress();
  }
  if (existing.state === 'pending') {
    // The holder's lease passed. It calls settle only after storing the image: without the image
    // nothing can have reached the chain, so take over; with it, the chain decides.
    if (existing.imageId !== undefined && (await deps.imageStore.get(existing.imageId)) !== undefined) {
      return recoverSettling(ctx, existing);
    }
    const taken = await deps.paymentStore.transition(guardOf(existing), {
      state: 'pending',
      leaseUntil: now + PENDING_LEASE_MS,
      imageId: existing.imageId ?? randomUUID(),
    });
    if (taken === undefined) {
      // Someone else took it over (or it was released) in the meantime: let the client retry.
      return stillInProgress();
    }
    deps.logger.warn('reservation_taken_over', { request_id: existing.requestId });
    return verifyAndGenerate(ctx, taken);
  }
  return recoverSettling(ctx, existing);
}

type VerifyAnswer = Awaited<ReturnType<FacilitatorClient['verify']>>;
type Outcome<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: unknown };

/** A promise that never rejects (an abandoned verify must not become an unhandled rejection). */
function settledOutcome<T>(promise: Promise<T>): Promise<Outcome<T>> {
  return promise.then(
    (value) => ({ ok: true as const, value }),
    (error: unknown) => ({ ok: false as const, error }),
  );
}

async function verifyAndGenerate(
  ctx: Context,
  record: PaymentRecord,
  started?: Promise<Outcome<VerifyAnswer>>,
): Promise<PurchaseOutcome> {
  const { deps, input } = ctx;
  const imageId = record.imageId;
  if (imageId === undefined) throw new Error('pending record without an image id');
  const release = () => deps.paymentStore.release(guardOf(record));

  const outcome = await (started ?? settledOutcome(deps.facilitator.verify(ctx.request)));
  if (!outcome.ok) {
    await release();
    throw outcome.error;
  }
  const verify = outcome.value;
  if (!verify.isValid) {
    await release();
    return {
      kind: 'rejected',
      code: verify.invalidReason ?? GATEWAY_ERRORS.paymentInvalid,
      message: verify.invalidMessage ?? 'the facilitator rejected the payment',
    };
  }

  let image: StoredImage;
  let generator: string;
  try {
    const generated = await withDeadline(
      (signal) =>
        deps.imageGenerator.generate(
          { prompt: input.prompt, ...dimensionsOf(input.size), quality: input.quality },
          { signal },
        ),
      GENERATION_TIMEOUT_MS,
    );
    image = { bytes: generated.png, mimeType: generated.mimeType };
    generator = generated.generator;
  } catch (error) {
    await release();
    deps.logger.warn('generation_failed', {
      request_id: input.requestId,
      code: isImagingError(error) ? error.code : 'unknown',
      detail: error instanceof Error ? error.message : String(error),
    });
    if (isImagingError(error)) {
      const status =
        error.httpStatus === 422 || error.httpStatus === 503 || error.httpStatus === 504
          ? error.httpStatus
          : 502;
      return {
        kind: 'failed',
        status,
        code: error.code,
        message: `image generation failed: ${error.message}`,
      };
    }
    return {
      kind: 'failed',
      status: 502,
      code: GATEWAY_ERRORS.generationFailed,
      message: 'image generation failed',
    };
  }

  try {
    await deps.imageStore.put(imageId, image);
  } catch (error) {
    await release();
    deps.logger.error('image_store_failed', { request_id: input.requestId, detail: String(error) });
    return {
      kind: 'failed',
      status: 502,
      code: GATEWAY_ERRORS.imageStoreFailed,
      message: 'could not store the image',
    };
  }
  deps.logger.info('image_generated', { request_id: input.requestId, image_id: imageId, generator });

  // The reservation's lease normally still covers settle: no write needed. Only when generation ate
  // into it is the lease renewed first, conditionally (a takeover since then makes it fail).
  let holder = record;
  if (record.leaseUntil - deps.clock.now() < SETTLING_LEASE_MS) {
    const renewed = await deps.paymentStore.transition(guardOf(record), {
      state: 'pending',
      leaseUntil: deps.clock.now() + SETTLING_LEASE_MS,
    });
    if (renewed === undefined) {
      // Our lease passed and another request took the purchase over: it settles, we must not.
      return heldByAnother();
    }
    holder = renewed;
  }
  return settleAndDeliver(ctx, holder, image);
}

async function settleAndDeliver(
  ctx: Context,
  record: PaymentRecord,
  image?: StoredImage,
  recovering = false,
): Promise<PurchaseOutcome> {
  const { deps } = ctx;
  const guard = guardOf(record);
  let settle: Awaited<ReturnType<FacilitatorClient['settle']>>;
  try {
    settle = await deps.facilitator.settle(ctx.request);
  } catch (error) {
    if (isAppError(error) && error.details?.delivered === false) {
      await deps.paymentStore.release(guard);
      throw error;
    }
    // The settle may or may not have been executed: keep the record; a retry resolves it.
    await deps.paymentStore.transition(guard, { state: 'settling', leaseUntil: deps.clock.now() });
    deps.logger.warn('settlement_outcome_unknown', {
      request_id: record.requestId,
      detail: error instanceof Error ? error.message : String(error),
    });
    return {
      kind: 'failed',
      status: 504,
      code: GATEWAY_ERRORS.settlementPending,
      message: 'the facilitator did not confirm the settlement; retry with the same request and payment',
      retryAfterSeconds: RETRY_AFTER_SECONDS,
    };
  }

  if (settle.success) {
    return finishSettled(ctx, record, settle.transaction, settle.payer ?? ctx.payer, image);
  }
  if (
    settle.errorReason === GATEWAY_ERRORS.settlementPending &&
    /^0x[0-9a-fA-F]{64}$/.test(settle.transaction)
  ) {
    await deps.paymentStore.transition(guard, {
      state: 'settling',
      leaseUntil: deps.clock.now() + RETRY_AFTER_SECONDS * 1000,
      transaction: settle.transaction,
    });
    return pending(settle.transaction);
  }
  if (recovering) {
    // A re-sent settle failed (typically "already used"): the first attempt may have moved the money.
    // Without a chain reader we cannot tell, so keep the record for reconciliation, never release.
    deps.logger.error('settlement_unresolved', { request_id: record.requestId, reason: settle.errorReason });
    return {
      kind: 'failed',
      status: 502,
      code: GATEWAY_ERRORS.settlementUnresolved,
      message: 'the outcome of an interrupted settlement could not be determined; contact the seller',
    };
  }
  // Refused or reverted: the authorization's nonce was not consumed by us; nothing was charged.
  await deps.paymentStore.release(guard);
  deps.logger.warn('settlement_failed', { request_id: record.requestId, reason: settle.errorReason });
  return {
    kind: 'rejected',
    code: settle.errorReason ?? GATEWAY_ERRORS.settlementFailed,
    message: settle.errorMessage ?? 'the facilitator could not settle the payment; no image was delivered',
  };
}

async function finishSettled(
  ctx: Context,
  record: PaymentRecord,
  transaction: string,
  payer: string,
  image?: StoredImage,
): Promise<PurchaseOutcome> {
  const { deps, input } = ctx;
  const imageId = record.imageId;
  if (imageId === undefined) throw new Error('settling record without image');
  const stored = image ?? (await deps.imageStore.get(imageId));
  if (stored === undefined) throw new Error(`image ${imageId} of a settled purchase is missing`);
  const receipt: StoredReceipt = {
    transaction,
    payer,
    network: input.requirements.network.id,
    atomicAmount: input.requirements.amount.toString(),
    imageId,
    mimeType: stored.mimeType,
    settledAt: deps.clock.now(),
  };
  // Both records (the authorization's and the request's) go in one write, before the answer, so a
  // retry right after it finds the stored result. A failed write is logged, never turned into an
  // error for a purchase that was charged (a retry then resolves it from the chain).
  const now = deps.clock.now();
  await deps.paymentStore
    .saveSettled({
      authorization: record,
      receipt,
      requestKey: purchaseKey(input),
      requestExpiresAt: now + RETENTION_MS,
      now,
    })
    .catch((error: unknown) => {
      deps.logger.error('settled_record_not_saved', {
        request_id: record.requestId,
        transaction,
        detail: error instanceof Error ? error.message : String(error),
      });
    });
  return { kind: 'delivered', receipt, image: stored, replayed: false };
}

/** Key of the per-request record that points a paid request id at its receipt. */
function purchaseKey(input: PurchaseInput): string {
  const r = input.requirements;
  return `request:${r.network.caip2}:${r.payTo.toLowerCase()}:${input.requestId}`;
}

async function deliverStored(ctx: Context, receipt: StoredReceipt): Promise<PurchaseOutcome> {
  const image = await ctx.deps.imageStore.get(receipt.imageId);
  if (image === undefined) throw new Error(`image ${receipt.imageId} of a settled purchase is missing`);
  return { kind: 'delivered', receipt, image, replayed: true };
}

/**
 * Runs `run` with an abort signal and a hard deadline: a generator that ignores the signal (an SDK
 * without cancellation) cannot hold the request and its reservation past the deadline.
 */
async function withDeadline<T>(run: (signal: AbortSignal) => Promise<T>, ms: number): Promise<T> {
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const error = new ImagingError('generation_timeout', `image generation took longer than ${ms} ms`);
      controller.abort(error);
      reject(error);
    }, ms);
  });
  try {
    return await Promise.race([run(controller.signal), deadline]);
  } finally {
    clearTimeout(timer);
  }
}

/** 409: another request holds this purchase's record and its lease is still running. */
function stillInProgress(): PurchaseOutcome {
  return {
    kind: 'failed',
    status: 409,
    code: GATEWAY_ERRORS.paymentInProgress,
    message: 'a request with this payment is still being processed; retry shortly',
    retryAfterSeconds: RETRY_AFTER_SECONDS,
  };
}

/** 409: our lease passed and another request took the purchase over; it settles, we must not. */
function heldByAnother(): PurchaseOutcome {
  return {
    kind: 'failed',
    status: 409,
    code: GATEWAY_ERRORS.paymentInProgress,
    message: 'this payment is being processed by another request',
  };
}

function pending(transaction: string): PurchaseOutcome {
  return {
    kind: 'failed',
    status: 202,
    code: GATEWAY_ERRORS.settlementPending,
    message: 'the settlement transaction is not final yet; retry with the same request and payment',
    transaction,
    retryAfterSeconds: RETRY_AFTER_SECONDS,
  };
}

/**
 * A `settling` record whose holder's lease passed (crash, or the facilitator timed out). Settle may
 * have executed, so the chain decides: a known transaction's receipt, else `authorizationState`.
 * Without a chain reader the settle is simply sent again: the EIP-3009 nonce makes that safe (at
 * most one transfer), and an "already used" answer then keeps the record for reconciliation.
 */
async function recoverSettling(ctx: Context, record: PaymentRecord): Promise<PurchaseOutcome> {
  const { deps } = ctx;
  const now = deps.clock.now();
  const asset = ctx.input.requirements.asset;
  const takeOver = async () => {
    const taken = await deps.paymentStore.transition(guardOf(record), {
      state: 'settling',
      leaseUntil: now + SETTLING_LEASE_MS,
    });
    if (taken === undefined) {
      return heldByAnother();
    }
    return taken;
  };

  if (deps.chain !== undefined) {
    let transaction = record.transaction as `0x${string}` | undefined;
    if (transaction === undefined && (await deps.chain.authorizationUsed(asset, ctx.payer, ctx.nonce))) {
      transaction = await deps.chain.findAuthorizationTransaction(asset, ctx.payer, ctx.nonce);
      if (transaction === undefined) return pendingUnknown();
    }
    if (transaction !== undefined) {
      const status = await deps.chain.receiptStatus(transaction);
      if (status === 'success') {
        deps.logger.warn('settlement_recovered', { request_id: record.requestId, transaction });
        return finishSettled(ctx, record, transaction, ctx.payer);
      }
      if (status === 'unknown') return pending(transaction);
      // Reverted: the nonce is unused again. Release unless the window is over (then nothing can move).
      await deps.paymentStore.release(guardOf(record));
      return {
        kind: 'rejected',
        code: GATEWAY_ERRORS.settlementFailed,
        message: 'the settlement transaction reverted; nothing was charged',
      };
    }
    // Not used on chain: no transfer happened. Settle again (or give up once the window closed).
    if (BigInt(Math.floor(now / 1000)) >= ctx.validBefore) {
      await deps.paymentStore.release(guardOf(record));
      return {
        kind: 'rejected',
        code: GATEWAY_ERRORS.authorizationExpired,
        message: 'the authorization expired before it was settled; nothing was charged',
      };
    }
  }
  const taken = await takeOver();
  if ('kind' in taken) return taken;
  deps.logger.warn('settlement_retried', { request_id: record.requestId });
  return settleAndDeliver(ctx, taken, undefined, deps.chain === undefined);
}

function pendingUnknown(): PurchaseOutcome {
  return {
    kind: 'failed',
    status: 202,
    code: GATEWAY_ERRORS.settlementPending,
    message: 'the authorization was used on chain; its transaction is being located, retry shortly',
    retryAfterSeconds: RETRY_AFTER_SECONDS,
  };
}
