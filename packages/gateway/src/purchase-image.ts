import { createHash, randomUUID } from 'node:crypto';
import { dimensionsOf, type ImageGenerator, isImagingError } from '@agentic-payments/imaging';
import type { PaymentPayload } from '@agentic-payments/x402';
import type { ChainReader } from './chain-reader.ts';
import { beforeDeadline, type Outcome, outcomeOf, withDeadline } from './deadline.ts';
import { type FacilitatorClient, type FacilitatorRequest, neverDelivered } from './facilitator-client.ts';
import type { ImageStore, StoredImage } from './image-store.ts';
import type { Logger } from './logger.ts';
import { matchPayment } from './match-payment.ts';
import { paymentIdentifierOf } from './payment-identifier.ts';
import {
  type AuthorizationRef,
  authorizationKey,
  type LedgerRecord,
  type PaymentStore,
  type StoredReceipt,
} from './payment-store.ts';
import { type ConflictReason, createPurchaseLedger, type PurchaseLedger } from './purchase-ledger.ts';
import { GATEWAY_ERRORS, type GatewayErrorCode, type PurchaseErrorCode, passThrough } from './reasons.ts';
import { type ServerRequirements, toV1Requirements, toV2Requirements } from './requirements.ts';
import { verifyAuthorizationSignature } from './verify-authorization-signature.ts';

/** Holder lease from `begin` through verify, generation, image store and settle. */
export const PENDING_LEASE_MS = 120_000;
/** Lease for one settle attempt; past it, a retry resolves the outcome from the chain. */
export const SETTLING_LEASE_MS = 90_000;
/** How long a settled purchase is kept to answer retries (and a pending one past its validBefore). */
export const RETENTION_MS = 7 * 24 * 3600 * 1000;
export const RETRY_AFTER_SECONDS = 5;

/**
 * The request's time budget. API Gateway's HTTP API cuts an integration at 30 s, so by default the
 * whole purchase answers within 28 s: generation gets what is left after `settleReserveMs`, and a
 * settlement still unanswered at the deadline is answered `settlement_pending` (never a fresh 402).
 */
export interface PurchaseDeadline {
  readonly requestMs: number;
  /** Kept for settle (and the writes around it): generation must end this long before the deadline. */
  readonly settleReserveMs: number;
}
export const DEFAULT_PURCHASE_DEADLINE: PurchaseDeadline = { requestMs: 28_000, settleReserveMs: 8_000 };

export interface PurchaseDeps {
  readonly paymentStore: PaymentStore;
  readonly facilitator: FacilitatorClient;
  readonly imageGenerator: ImageGenerator;
  readonly imageStore: ImageStore;
  readonly clock: { now(): number };
  readonly logger: Logger;
  readonly chain?: ChainReader | undefined;
  readonly deadline?: PurchaseDeadline | undefined;
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
  | { readonly kind: 'rejected'; readonly code: PurchaseErrorCode; readonly message: string }
  /** Any other non-200 answer (409, 202, 5xx). */
  | {
      readonly kind: 'failed';
      readonly status: 202 | 409 | 422 | 500 | 502 | 503 | 504;
      readonly code: PurchaseErrorCode;
      readonly message: string;
      readonly transaction?: string | undefined;
      readonly retryAfterSeconds?: number | undefined;
    };

/** What a purchase is: an idempotency key may only ever buy this. */
export function purchaseFingerprint(
  input: Pick<PurchaseInput, 'prompt' | 'size' | 'quality' | 'requirements'>,
) {
  const { requirements: r } = input;
  return createHash('sha256')
    .update(JSON.stringify([input.prompt, input.size, input.quality, r.amount.toString(), r.payTo, r.asset]))
    .digest('hex');
}

/**
 * The purchase's idempotency key: the client's x402 `payment-identifier` where it sends one, else
 * the request id; scoped to this network and seller.
 */
export function purchaseKey(
  input: Pick<PurchaseInput, 'requestId' | 'requirements'> & {
    readonly payment: Parameters<typeof paymentIdentifierOf>[0];
  },
) {
  const r = input.requirements;
  const scope = `purchase:${r.network.caip2}:${r.payTo.toLowerCase()}`;
  const id = paymentIdentifierOf(input.payment);
  return id === undefined || !id.ok ? `${scope}:request:${input.requestId}` : `${scope}:payment:${id.id}`;
}

interface Context {
  readonly deps: PurchaseDeps;
  readonly ledger: PurchaseLedger;
  readonly input: PurchaseInput;
  readonly request: FacilitatorRequest;
  readonly authorization: AuthorizationRef;
  /** Wall-clock ms (Date.now) at which the answer must be on its way. */
  readonly deadlineAt: number;
  readonly settleReserveMs: number;
}

type VerifyAnswer = Awaited<ReturnType<FacilitatorClient['verify']>>;
type SettleAnswer = Awaited<ReturnType<FacilitatorClient['settle']>>;

/**
 * The paid path of `POST /generate_image`, one straight line:
 * match → verify → begin → generate → store → settle → complete → deliver.
 *
 * No content without a payment verified in this request: the payment is matched against the
 * server's own terms and its signature checked before the ledger is even asked (a stored result is
 * never handed to a payment that only names its payer). One charge per idempotency key: `begin`
 * claims the key and binds the authorization to it atomically. No charge without content (settle
 * only after the image is stored) and no content without settlement.
 */
export async function purchaseImage(deps: PurchaseDeps, input: PurchaseInput): Promise<PurchaseOutcome> {
  const budget = deps.deadline ?? DEFAULT_PURCHASE_DEADLINE;
  const deadlineAt = Date.now() + budget.requestMs;
  const { requirements } = input;

  // 1. match: scheme, network, asset, payee, exact amount, window (the server's own terms).
  const match = matchPayment(input.payment, requirements, deps.clock.now());
  if (!match.ok) return { kind: 'rejected', code: passThrough(match.code), message: match.message };
  const identifier = paymentIdentifierOf(input.payment);
  if (identifier !== undefined && !identifier.ok) {
    return rejected(
      GATEWAY_ERRORS.invalidPaymentIdentifier,
      'payment-identifier id must be 16-128 of [A-Za-z0-9_-]',
    );
  }

  // 2. verify: the signature here, on every path; the facilitator's checks (balance, nonce, simulation)
  //    side by side with `begin`, needed only when this request is the one that settles.
  if (!(await verifyAuthorizationSignature(input.payment, requirements, deps.chain))) {
    return rejected(GATEWAY_ERRORS.invalidSignature, 'the authorization signature is not the payer’s');
  }
  const auth = match.authorization;
  const ctx: Context = {
    deps,
    ledger: createPurchaseLedger(deps.paymentStore, { retentionMs: RETENTION_MS }),
    input,
    deadlineAt,
    settleReserveMs: budget.settleReserveMs,
    authorization: {
      key: authorizationKey({
        network: requirements.network.caip2,
        asset: requirements.asset,
        payer: auth.from,
        nonce: auth.nonce,
      }),
      payer: auth.from,
      nonce: auth.nonce,
      validBefore: match.validBefore.toString(),
    },
    request: {
      x402Version: input.payment.x402Version,
      paymentPayload: input.payment,
      paymentRequirements:
        input.payment.x402Version === 1 ? toV1Requirements(requirements) : toV2Requirements(requirements),
    },
  };
  const verifying = outcomeOf(deps.facilitator.verify(ctx.request));

  // 3. begin
  const now = deps.clock.now();
  const begun = await ctx.ledger.begin({
    key: purchaseKey(input),
    requestId: input.requestId,
    fingerprint: purchaseFingerprint(input),
    authorization: ctx.authorization,
    imageId: randomUUID(),
    leaseUntil: now + PENDING_LEASE_MS,
    expiresAt: Number(match.validBefore) * 1000 + RETENTION_MS,
    now,
  });
  switch (begun.kind) {
    case 'replay':
      return deliverStored(ctx, begun.receipt);
    case 'conflict':
      return conflict(begun.reason);
    case 'in_progress':
      return inProgress(begun.record);
    case 'recover':
      return recover(ctx, begun.record);
    case 'fresh':
      return buy(ctx, begun.holder, verifying);
  }
}

/** verify → generate → store → settle → complete → deliver, as the purchase's holder. */
async function buy(
  ctx: Context,
  holder: LedgerRecord,
  verifying: Promise<Outcome<VerifyAnswer>> = outcomeOf(ctx.deps.facilitator.verify(ctx.request)),
): Promise<PurchaseOutcome> {
  const { deps, ledger } = ctx;
  const verified = await verifying;
  if (!verified.ok) {
    await ledger.release(holder);
    throw verified.error;
  }
  let settledElsewhere: string | undefined;
  if (!verified.value.isValid) {
    settledElsewhere = await paidOnChainAlready(ctx, verified.value.invalidReason);
    if (settledElsewhere === undefined) {
      await ledger.release(holder);
      return {
        kind: 'rejected',
        code: passThrough(verified.value.invalidReason ?? GATEWAY_ERRORS.paymentInvalid),
        message: verified.value.invalidMessage ?? 'the facilitator rejected the payment',
      };
    }
  }

  const generated = await generate(ctx, holder);
  if (generated.kind !== 'image') return generated.outcome;
  const { image } = generated;

  if (settledElsewhere !== undefined) {
    // Settled by someone else (an open facilitator's /settle): this purchase was paid; deliver once.
    deps.logger.warn('settlement_recovered', { request_id: holder.requestId, transaction: settledElsewhere });
    return complete(ctx, holder, settledElsewhere, image);
  }
  return settle(ctx, holder, image);
}

/** generate (within the generation budget) → store under the purchase's image id. */
async function generate(
  ctx: Context,
  holder: LedgerRecord,
): Promise<{ kind: 'image'; image: StoredImage } | { kind: 'failed'; outcome: PurchaseOutcome }> {
  const imageId = holder.imageId;
  if (imageId === undefined) throw new Error('purchase record without an image id');
  const generated = await generateAndStore(ctx.deps, ctx.input, imageId, {
    deadlineAt: ctx.deadlineAt,
    settleReserveMs: ctx.settleReserveMs,
  });
  if (generated.kind === 'failed') await ctx.ledger.release(holder);
  return generated;
}

/**
 * generate (within what is left before `deadlineAt - settleReserveMs`) → store under `imageId`.
 * Shared by both schemes; a failure is an outcome (nothing was charged), the caller frees its holds.
 */
export async function generateAndStore(
  deps: Pick<PurchaseDeps, 'imageGenerator' | 'imageStore' | 'logger'>,
  input: Pick<PurchaseInput, 'prompt' | 'size' | 'quality' | 'requestId'>,
  imageId: string,
  budget: { readonly deadlineAt: number; readonly settleReserveMs: number },
): Promise<{ kind: 'image'; image: StoredImage } | { kind: 'failed'; outcome: PurchaseOutcome }> {
  const failed = (outcome: PurchaseOutcome) => ({ kind: 'failed' as const, outcome });
  let image: StoredImage;
  try {
    const budgetMs = budget.deadlineAt - budget.settleReserveMs - Date.now();
    const generated = await withDeadline(
      (signal) =>
        deps.imageGenerator.generate(
          { prompt: input.prompt, ...dimensionsOf(input.size), quality: input.quality },
          { signal },
        ),
      budgetMs,
    );
    image = { bytes: generated.png, mimeType: generated.mimeType };
    deps.logger.info('image_generated', {
      request_id: input.requestId,
      image_id: imageId,
      generator: generated.generator,
    });
  } catch (error) {
    deps.logger.warn('generation_failed', {
      request_id: input.requestId,
      code: isImagingError(error) ? error.code : 'unknown',
      detail: error instanceof Error ? error.message : String(error),
    });
    if (!isImagingError(error)) {
      return failed(fail(502, GATEWAY_ERRORS.generationFailed, 'image generation failed'));
    }
    const status =
      error.httpStatus === 422 || error.httpStatus === 503 || error.httpStatus === 504
        ? error.httpStatus
        : 502;
    return failed(fail(status, passThrough(error.code), `image generation failed: ${error.message}`));
  }
  try {
    await deps.imageStore.put(imageId, image);
  } catch (error) {
    deps.logger.error('image_store_failed', { request_id: input.requestId, detail: String(error) });
    return failed(fail(502, GATEWAY_ERRORS.imageStoreFailed, 'could not store the image'));
  }
  return { kind: 'image', image };
}

/** settle (within what is left of the deadline) → complete → deliver. */
async function settle(ctx: Context, holder: LedgerRecord, image?: StoredImage): Promise<PurchaseOutcome> {
  const { deps, ledger } = ctx;
  // The lease normally still covers settle: no write. Only when generation ate into it is it renewed
  // first, conditionally (a takeover since then makes it fail: the new holder settles, we must not).
  let current = holder;
  if (holder.leaseUntil - deps.clock.now() < SETTLING_LEASE_MS) {
    const renewed = await ledger.renew(holder, deps.clock.now() + SETTLING_LEASE_MS);
    if (renewed === undefined) return heldByAnother();
    current = renewed;
  }

  const settling = outcomeOf(deps.facilitator.settle(ctx.request));
  const answered = await beforeDeadline(settling, ctx.deadlineAt - Date.now());
  if (answered === undefined) {
    // The deadline came first: the outcome is unknown. Keep the purchase (the chain decides on the
    // retry) and record a late answer if this process lives to see it.
    const marked = (await ledger.settling(current, { leaseUntil: deps.clock.now() })) ?? current;
    void settling.then(async (late) => {
      if (late.ok && late.value.success) await complete(ctx, marked, late.value.transaction, image);
    });
    deps.logger.warn('settlement_outcome_unknown', {
      request_id: holder.requestId,
      detail: 'request deadline',
    });
    return pending(undefined);
  }
  if (!answered.ok) {
    if (neverDelivered(answered.error)) {
      await ledger.release(current);
      throw answered.error;
    }
    // The settle may or may not have been executed: keep the purchase; a retry resolves it.
    await ledger.settling(current, { leaseUntil: deps.clock.now() });
    deps.logger.warn('settlement_outcome_unknown', {
      request_id: holder.requestId,
      detail: answered.error instanceof Error ? answered.error.message : String(answered.error),
    });
    return pending(undefined);
  }
  return settled(ctx, current, answered.value, image);
}

/** What a settle answer means for the purchase. */
async function settled(
  ctx: Context,
  holder: LedgerRecord,
  answer: SettleAnswer,
  image: StoredImage | undefined,
  recovering = false,
): Promise<PurchaseOutcome> {
  const { deps, ledger } = ctx;
  if (answer.success) return complete(ctx, holder, answer.transaction, image);
  if (
    answer.errorReason === GATEWAY_ERRORS.settlementPending &&
    /^0x[0-9a-fA-F]{64}$/.test(answer.transaction)
  ) {
    await ledger.settling(holder, {
      leaseUntil: deps.clock.now() + RETRY_AFTER_SECONDS * 1000,
      transaction: answer.transaction,
    });
    return pending(answer.transaction);
  }
  const elsewhere = await paidOnChainAlready(ctx, answer.errorReason);
  if (elsewhere !== undefined) return complete(ctx, holder, elsewhere, image);
  if (recovering) {
    // A re-sent settle failed: the first attempt may still move the money. Never a fresh 402 here.
    await ledger.settling(holder, { leaseUntil: deps.clock.now() });
    deps.logger.error('settlement_unresolved', { request_id: holder.requestId, reason: answer.errorReason });
    return deps.chain === undefined
      ? fail(
          502,
          GATEWAY_ERRORS.settlementUnresolved,
          'the outcome of an interrupted settlement could not be determined; contact the seller',
        )
      : pending(undefined);
  }
  // Refused or reverted: the authorization's nonce was not consumed by us; nothing was charged.
  await ledger.release(holder);
  deps.logger.warn('settlement_failed', { request_id: holder.requestId, reason: answer.errorReason });
  return {
    kind: 'rejected',
    code: passThrough(answer.errorReason ?? GATEWAY_ERRORS.settlementFailed),
    message: answer.errorMessage ?? 'the facilitator could not settle the payment; no image was delivered',
  };
}

/** complete → deliver: one write of the settled purchase before the answer. */
async function complete(
  ctx: Context,
  holder: LedgerRecord,
  transaction: string,
  image?: StoredImage,
): Promise<PurchaseOutcome> {
  const { deps, input } = ctx;
  const imageId = holder.imageId;
  if (imageId === undefined) throw new Error('settled purchase without an image id');
  const stored = image ?? (await deps.imageStore.get(imageId));
  if (stored === undefined) throw new Error(`image ${imageId} of a settled purchase is missing`);
  const receipt: StoredReceipt = {
    transaction,
    payer: holder.authorization?.payer ?? ctx.authorization.payer,
    network: input.requirements.network.id,
    atomicAmount: input.requirements.amount.toString(),
    imageId,
    mimeType: stored.mimeType,
    settledAt: deps.clock.now(),
  };
  // A failed write is logged, never turned into an error for a purchase that was charged: a retry
  // then resolves it from the chain.
  await ctx.ledger.complete(holder, receipt, deps.clock.now()).catch((error: unknown) => {
    deps.logger.error('settled_record_not_saved', {
      request_id: holder.requestId,
      transaction,
      detail: error instanceof Error ? error.message : String(error),
    });
  });
  return { kind: 'delivered', receipt, image: stored, replayed: false };
}

/**
 * `recover`: the holder's lease passed (it crashed, or the settle outcome was lost). A `pending`
 * purchase whose image was never stored cannot have reached the chain: take it over and buy. Any
 * other may have moved the money: the chain decides for the purchase's own authorization.
 */
async function recover(ctx: Context, record: LedgerRecord): Promise<PurchaseOutcome> {
  const { deps, ledger } = ctx;
  const imageStored =
    record.imageId !== undefined && (await deps.imageStore.get(record.imageId)) !== undefined;
  if (record.state === 'pending' && !imageStored) {
    deps.logger.warn('reservation_taken_over', { request_id: record.requestId });
    return takeOverAndBuy(ctx, record);
  }
  const authorization = record.authorization;
  if (authorization === undefined) throw new Error('purchase record without an authorization');
  const sameAuthorization = authorization.key === ctx.authorization.key;
  const resettle = async () => {
    const taken = await ledger.takeOver(record, {
      state: 'settling',
      leaseUntil: deps.clock.now() + SETTLING_LEASE_MS,
      now: deps.clock.now(),
    });
    if (taken.kind !== 'taken') return heldByAnother();
    deps.logger.warn('settlement_retried', { request_id: record.requestId });
    const answer = await outcomeOf(deps.facilitator.settle(ctx.request));
    if (!answer.ok) {
      await ledger.settling(taken.holder, { leaseUntil: deps.clock.now() });
      return pending(undefined);
    }
    return settled(ctx, taken.holder, answer.value, undefined, true);
  };

  const chain = deps.chain;
  if (chain === undefined) {
    // Without chain reads only the same authorization is sent again: its EIP-3009 nonce makes that
    // safe (at most one transfer); an "already used" answer keeps the purchase for reconciliation.
    return sameAuthorization ? resettle() : inProgress(record);
  }
  const onChain = await settlementOnChain(ctx, authorization, record.transaction);
  if (onChain.kind === 'settled') {
    deps.logger.warn('settlement_recovered', {
      request_id: record.requestId,
      transaction: onChain.transaction,
    });
    return complete(ctx, record, onChain.transaction);
  }
  if (onChain.kind === 'pending') return pending(onChain.transaction);
  if (onChain.kind === 'foreign') {
    await ledger.release(record);
    return rejected(GATEWAY_ERRORS.authorizationAlreadyUsed, 'the authorization was used for something else');
  }
  // Unused on chain: nothing was charged. While its window is open the first settle may still land,
  // so only that same authorization is sent again; once it closed, nothing can move: buy afresh.
  if (BigInt(Math.floor(deps.clock.now() / 1000)) < BigInt(authorization.validBefore)) {
    return sameAuthorization ? resettle() : pending(undefined);
  }
  return takeOverAndBuy(ctx, record);
}

async function takeOverAndBuy(ctx: Context, record: LedgerRecord): Promise<PurchaseOutcome> {
  const now = ctx.deps.clock.now();
  const taken = await ctx.ledger.takeOver(record, {
    state: 'pending',
    leaseUntil: now + PENDING_LEASE_MS,
    now,
    authorization: ctx.authorization,
    imageId: record.imageId ?? randomUUID(),
  });
  if (taken.kind === 'conflict') return conflict(taken.reason);
  if (taken.kind === 'lost') return inProgress(record);
  return buy(ctx, taken.holder);
}

type OnChain =
  | { readonly kind: 'settled'; readonly transaction: string }
  | { readonly kind: 'pending'; readonly transaction: string | undefined }
  | { readonly kind: 'unused' }
  /** Used, but not as a transfer of this price to this seller (e.g. cancelled). */
  | { readonly kind: 'foreign' };

/** What the chain says about an authorization: its transfer, a pending transaction, or nothing. */
async function settlementOnChain(
  ctx: Context,
  authorization: AuthorizationRef,
  known: string | undefined,
): Promise<OnChain> {
  const chain = ctx.deps.chain;
  if (chain === undefined) return { kind: 'pending', transaction: known };
  const { asset, payTo, amount } = ctx.input.requirements;
  const payer = authorization.payer as `0x${string}`;
  const nonce = authorization.nonce as `0x${string}`;
  const paysThisPurchase = async (transaction: string) => {
    const transfer = await chain.transferOf(transaction as `0x${string}`, asset, payer);
    return (
      transfer !== undefined && transfer.to.toLowerCase() === payTo.toLowerCase() && transfer.value === amount
    );
  };
  if (known !== undefined) {
    const status = await chain.receiptStatus(known as `0x${string}`);
    if (status === 'unknown') return { kind: 'pending', transaction: known };
    if (status === 'success' && (await paysThisPurchase(known)))
      return { kind: 'settled', transaction: known };
    // Reverted: the nonce may be unused again, or used by another transaction: ask the token.
  }
  if (!(await chain.authorizationUsed(asset, payer, nonce))) return { kind: 'unused' };
  const transaction = await chain.findAuthorizationTransaction(asset, payer, nonce);
  if (transaction === undefined) return { kind: 'pending', transaction: undefined };
  return (await paysThisPurchase(transaction)) ? { kind: 'settled', transaction } : { kind: 'foreign' };
}

/**
 * When the facilitator says the authorization was already used: the transaction that paid this
 * seller exactly this price with it, if the chain shows one (settled by someone else, e.g. through
 * an open facilitator's /settle). The authorization is bound to this purchase, so it paid for it.
 */
async function paidOnChainAlready(ctx: Context, reason: string | undefined): Promise<string | undefined> {
  if (ctx.deps.chain === undefined || reason === undefined || !ALREADY_USED.has(reason)) return undefined;
  const onChain = await settlementOnChain(ctx, ctx.authorization, undefined);
  return onChain.kind === 'settled' ? onChain.transaction : undefined;
}
const ALREADY_USED = new Set([
  GATEWAY_ERRORS.authorizationAlreadyUsed,
  'invalid_exact_evm_nonce_already_used',
]);

async function deliverStored(ctx: Context, receipt: StoredReceipt): Promise<PurchaseOutcome> {
  const image = await ctx.deps.imageStore.get(receipt.imageId);
  if (image === undefined) throw new Error(`image ${receipt.imageId} of a settled purchase is missing`);
  return { kind: 'delivered', receipt, image, replayed: true };
}

function fail(
  status: 202 | 409 | 422 | 500 | 502 | 503 | 504,
  code: PurchaseErrorCode,
  message: string,
  extra: { transaction?: string | undefined; retryAfterSeconds?: number } = {},
): PurchaseOutcome {
  return { kind: 'failed', status, code, message, ...extra };
}

function rejected(code: GatewayErrorCode, message: string): PurchaseOutcome {
  return { kind: 'rejected', code, message };
}

function conflict(reason: ConflictReason): PurchaseOutcome {
  switch (reason) {
    case 'authorization':
      return fail(
        409,
        GATEWAY_ERRORS.authorizationReused,
        'this payment authorization was already used for another request',
      );
    case 'purchase':
      return fail(
        409,
        GATEWAY_ERRORS.requestIdConflict,
        'this request id was already used for another purchase',
      );
    case 'payer':
      return fail(409, GATEWAY_ERRORS.requestIdConflict, 'this request id was bought by another payer');
  }
}

/** Another request holds the purchase and its lease is running: 202 with the hash once known, else 409. */
function inProgress(record: LedgerRecord): PurchaseOutcome {
  if (record.state === 'settling' && record.transaction !== undefined) return pending(record.transaction);
  return fail(
    409,
    GATEWAY_ERRORS.paymentInProgress,
    'a request for this purchase is still being processed; retry shortly',
    {
      retryAfterSeconds: RETRY_AFTER_SECONDS,
    },
  );
}

/** 409: our lease passed and another request took the purchase over; it settles, we must not. */
function heldByAnother(): PurchaseOutcome {
  return fail(409, GATEWAY_ERRORS.paymentInProgress, 'this payment is being processed by another request', {
    retryAfterSeconds: RETRY_AFTER_SECONDS,
  });
}

/**
 * The settlement's outcome is not known yet: 202 with its hash when one was broadcast, else 504
 * (the answer was lost or the deadline came first). Never a fresh 402: a conforming client would
 * sign and pay again. The retry, with the same request, answers once the chain has decided.
 */
function pending(transaction: string | undefined): PurchaseOutcome {
  return transaction === undefined
    ? fail(
        504,
        GATEWAY_ERRORS.settlementPending,
        'the settlement was not confirmed in time; retry with the same request and payment',
        { retryAfterSeconds: RETRY_AFTER_SECONDS },
      )
    : fail(
        202,
        GATEWAY_ERRORS.settlementPending,
        'the settlement transaction is not final yet; retry with the same request and payment',
        { transaction, retryAfterSeconds: RETRY_AFTER_SECONDS },
      );
}
