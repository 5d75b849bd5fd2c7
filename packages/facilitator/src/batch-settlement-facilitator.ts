import { createHash, timingSafeEqual } from 'node:crypto';
import type { x402Facilitator } from '@x402/core/facilitator';
import type { PaymentPayload, PaymentRequirements, SettleResponse, VerifyResponse } from '@x402/core/types';
import type { FacilitatorEvmSigner } from '@x402/evm';
import { computeChannelId } from '@x402/evm/batch-settlement/client';
import type { Hex } from 'viem';
import type { BatchSettlementPayload } from './batch-settlement-schema.ts';
import type { NetworkInfo } from './networks.ts';
import { BATCH_SETTLEMENT_REASONS as B, FACILITATOR_REASONS as R, REQUEST_ERRORS } from './reasons.ts';
import type { BatchSettlementFacilitatorRequest } from './request-schema.ts';
import { type SettlementTrace, settlementTrace } from './settlement-trace.ts';

/** What the HTTP edge knows about the caller. */
export interface SettleAuth {
  /** The `Authorization: Bearer` token, if any. */
  bearerToken?: string;
}

export interface BatchSettlementHandlersParameters {
  /** The official facilitator, with `@x402/evm`'s batch-settlement scheme registered. */
  official: x402Facilitator;
  network: NetworkInfo;
  /** Whether this facilitator holds a receiver-authorizer key (and signs for channels delegating to it). */
  hasReceiverAuthorizer: boolean;
  /** Waits for a pending claim, settle or refund when the same operation is settled again. */
  receipts: Pick<FacilitatorEvmSigner, 'waitForTransactionReceipt'>;
  /** How long a pending hash is remembered (default 10 minutes). */
  pendingTtlMs?: number;
  /**
   * Bearer tokens that may ask for a delegated signature (a claim or refund without the receiver
   * authorizer's signature). Undefined: anyone may (accepted on local-only networks only).
   */
  authorizerTokens?: readonly string[];
}

export interface BatchSettlementHandlers {
  verify(request: BatchSettlementFacilitatorRequest): Promise<VerifyResponse>;
  settle(request: BatchSettlementFacilitatorRequest, auth?: SettleAuth): Promise<SettleResponse>;
}

/**
 * `/verify` and `/settle` for the batch-settlement scheme around the official scheme: the network
 * check, the payload types each route handles, authentication of delegated signatures (the spec:
 * a facilitator that advertises a `receiverAuthorizer` must authenticate refund requests; claims
 * too, since a claim may charge up to the voucher's ceiling rather than what was charged), one
 * operation at a time per channel (and per receiver and token for `settle`), and an answer with a
 * hash whenever a transaction left: `settlement_pending`, never a failure, if the official code
 * threw or answered without it after a broadcast.
 *
 * @example
 * const handlers = createBatchSettlementHandlers({ official, network, hasReceiverAuthorizer: false });
 * const answer = await handlers.settle(parsedRequest);
 */
export function createBatchSettlementHandlers(
  params: BatchSettlementHandlersParameters,
): BatchSettlementHandlers {
  const { official, network } = params;
  if (params.hasReceiverAuthorizer && params.authorizerTokens === undefined && !network.localOnly) {
    throw new Error('a receiver authorizer off the devnet needs authorizer tokens to authenticate callers');
  }
  const tokenDigests = params.authorizerTokens?.map(digest);
  const authorized = (auth: SettleAuth | undefined): boolean => {
    if (tokenDigests === undefined) return true;
    const presented = auth?.bearerToken;
    if (!presented) return false;
    const candidate = digest(presented);
    // Compare against every token (no early exit), in constant time per comparison.
    return tokenDigests.reduce((ok, known) => timingSafeEqual(known, candidate) || ok, false);
  };
  const inFlight = new Set<string>();
  // Claim, settle and refund hashes answered `settlement_pending`, by operation (the official
  // scheme reconciles deposits itself). Re-running the operation instead would answer a failure
  // for one that landed (a spent refund nonce, nothing left to settle) or send a no-op claim.
  const pending = new Map<string, { hash: Hex; at: number }>();
  const pendingTtlMs = params.pendingTtlMs ?? 10 * 60_000;

  /** The answer for an operation whose transaction was pending: its receipt, or pending again. */
  const reconcile = async (
    key: string,
    hash: Hex,
    fail: (errorReason: string, transaction?: string, errorMessage?: string) => SettleResponse,
  ): Promise<SettleResponse> => {
    let status: string;
    try {
      ({ status } = await params.receipts.waitForTransactionReceipt({ hash }));
    } catch (error) {
      return fail(R.settlementPending, hash, messageOf(error));
    }
    pending.delete(key);
    if (status !== 'success') return fail(B.transactionReverted, hash);
    // The receipt is the answer; the amount and channel snapshot the first answer would have
    // carried are not rebuilt here (read the channel, or the transaction's events).
    const { errorReason: _r, errorMessage: _m, ...base } = fail('', hash);
    return { ...base, success: true };
  };

  return {
    async verify(request) {
      const { paymentPayload, paymentRequirements } = request.body;
      const payer = payerOf(paymentPayload.payload);
      const refuse = (invalidReason: string, invalidMessage?: string): VerifyResponse => ({
        isValid: false,
        invalidReason,
        ...(invalidMessage ? { invalidMessage } : {}),
        ...(payer ? { payer } : {}),
      });
      if (paymentRequirements.network !== network.caip2) return refuse(R.unsupportedNetwork);
      if (!VERIFIABLE.has(paymentPayload.payload.type)) return refuse(B.payloadType);
      try {
        const answer = await official.verify(...toOfficial(request));
        return answer.invalidMessage
          ? { ...answer, invalidMessage: truncate(answer.invalidMessage) }
          : answer;
      } catch (error) {
        return refuse(R.unexpectedVerifyError, messageOf(error));
      }
    },

    async settle(request, auth) {
      const { paymentPayload, paymentRequirements } = request.body;
      const payload = paymentPayload.payload;
      const payer = payerOf(payload);
      const fail = (errorReason: string, transaction = '', errorMessage?: string): SettleResponse => ({
        success: false,
        errorReason,
        ...(errorMessage ? { errorMessage } : {}),
        transaction,
        network: paymentRequirements.network,
        ...(payer ? { payer } : {}),
      });
      if (paymentRequirements.network !== network.caip2) return fail(R.unsupportedNetwork);
      if (paymentPayload.accepted.network !== paymentRequirements.network) return fail(B.networkMismatch);
      if (!isSettleable(payload)) return fail(B.payloadType);
      if (params.hasReceiverAuthorizer && asksForDelegatedSignature(payload) && !authorized(auth)) {
        return fail(
          REQUEST_ERRORS.unauthorized,
          '',
          'a claim or refund this facilitator signs as receiver authorizer needs Authorization: Bearer <token>',
        );
      }
      const keys = lockKeys(payload, network.caip2);
      if (keys.some((key) => inFlight.has(key))) {
        return fail(B.channelBusy, '', 'an operation on this channel is in flight; retry shortly');
      }
      for (const key of keys) inFlight.add(key);
      const operationKey =
        payload.type === 'deposit' ? undefined : digest(JSON.stringify(payload)).toString('hex');
      try {
        const known = operationKey ? pending.get(operationKey) : undefined;
        if (operationKey && known && Date.now() - known.at < pendingTtlMs) {
          return await reconcile(operationKey, known.hash, fail);
        }
        const trace: SettlementTrace = { sent: [], pending: undefined };
        let answer: SettleResponse;
        try {
          answer = await settlementTrace.run(trace, () => official.settle(...toOfficial(request)));
        } catch (error) {
          const sent = trace.pending ?? trace.sent.at(-1);
          if (sent) return fail(R.settlementPending, sent, messageOf(error));
          return fail(R.unexpectedSettleError, '', messageOf(error));
        }
        if (!answer.success) {
          const sent = trace.pending ?? trace.sent.at(-1);
          if (sent && !answer.transaction) {
            answer = fail(
              R.settlementPending,
              sent,
              'a transaction was broadcast; settle again to reconcile',
            );
          }
          if (operationKey && answer.errorReason === R.settlementPending && answer.transaction) {
            pending.set(operationKey, { hash: answer.transaction as Hex, at: Date.now() });
            pruneExpired(pending, pendingTtlMs);
          }
        }
        return answer.errorMessage ? { ...answer, errorMessage: truncate(answer.errorMessage) } : answer;
      } finally {
        for (const key of keys) inFlight.delete(key);
      }
    },
  };
}

const VERIFIABLE = new Set<BatchSettlementPayload['type']>(['deposit', 'voucher', 'refund']);

/** `/settle` handles deposits, claims, settles and server-completed refunds; never a bare voucher. */
function isSettleable(payload: BatchSettlementPayload): boolean {
  if (payload.type === 'refund') {
    return payload.amount !== undefined && payload.refundNonce !== undefined && payload.claims !== undefined;
  }
  return payload.type !== 'voucher';
}

/** A claim or refund missing a receiver-authorizer signature this facilitator would have to make. */
export function asksForDelegatedSignature(payload: BatchSettlementPayload): boolean {
  if (payload.type === 'claim') return payload.claimAuthorizerSignature === undefined;
  if (payload.type === 'refund') {
    return (
      payload.refundAuthorizerSignature === undefined ||
      ((payload.claims?.length ?? 0) > 0 && payload.claimAuthorizerSignature === undefined)
    );
  }
  return false;
}

/** The in-flight keys of an operation: every channel it touches, or the receiver and token it sweeps. */
function lockKeys(payload: BatchSettlementPayload, network: string): string[] {
  switch (payload.type) {
    case 'settle':
      return [`settle:${payload.receiver.toLowerCase()}:${payload.token.toLowerCase()}`];
    case 'claim':
      return [
        ...new Set(
          payload.claims.map((claim) => channelKey(computeChannelId(claim.voucher.channel, network))),
        ),
      ];
    case 'refund':
      return [
        ...new Set([
          channelKey(payload.voucher.channelId),
          ...(payload.claims ?? []).map((claim) =>
            channelKey(computeChannelId(claim.voucher.channel, network)),
          ),
        ]),
      ];
    default:
      return [channelKey(payload.voucher.channelId)];
  }
}

const channelKey = (channelId: string) => `channel:${channelId.toLowerCase()}`;

function payerOf(payload: BatchSettlementPayload): string | undefined {
  return 'channelConfig' in payload ? payload.channelConfig.payer : undefined;
}

// The bodies were validated by zod; the official types model every scheme's payload as one shape.
function toOfficial(request: BatchSettlementFacilitatorRequest): [PaymentPayload, PaymentRequirements] {
  return [request.body.paymentPayload, request.body.paymentRequirements] as unknown as [
    PaymentPayload,
    PaymentRequirements,
  ];
}

function pruneExpired(map: Map<string, { at: number }>, ttlMs: number): void {
  if (map.size < 1_000) return;
  const now = Date.now();
  for (const [key, entry] of map) if (now - entry.at >= ttlMs) map.delete(key);
}

function digest(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest();
}

function messageOf(error: unknown): string {
  const text =
    error instanceof Error ? (error as { shortMessage?: string }).shortMessage || error.message : '';
  return truncate(text || String(error));
}

function truncate(text: string): string {
  return text.length > 300 ? `${text.slice(0, 297)}...` : text;
}
