import { USDC_EIP712_DOMAIN } from '@agentic-payments/x402';
import type { FacilitatorClient as CoreFacilitatorClient } from '@x402/core/server';
import type {
  PaymentPayload as CorePaymentPayload,
  PaymentRequirements as CorePaymentRequirements,
  SettleResponse as CoreSettleResponse,
  SupportedKind as CoreSupportedKind,
  VerifyResponse as CoreVerifyResponse,
  SettleContext,
} from '@x402/core/types';
import {
  type BatchSettlementChannelManager,
  BatchSettlementEvmScheme,
  type ChannelStorage,
} from '@x402/evm/batch-settlement/server';
import type { BatchSettlementPaymentPayload } from './batch-settlement-payload.ts';
import type { ChannelLog } from './channel-log.ts';
import type { SettleDueFlag } from './channel-storage.ts';
import type { FacilitatorClient } from './facilitator-client.ts';
import type { Logger } from './logger.ts';
import { MAX_TIMEOUT_SECONDS, type ServerRequirements } from './requirements.ts';

/**
 * The gateway's `batch-settlement` side, built from the official server pieces of `@x402/evm`
 * (`BatchSettlementEvmScheme`, its scheme hooks, `BatchSettlementChannelManager`) over our
 * `ChannelStorage` (`channel-storage.ts`, the payment store). Nothing of the scheme is
 * re-implemented here: this module only drives the scheme's hooks in the order x402's resource
 * server does (`@x402/core`'s `x402ResourceServer.verifyPayment` / `settlePayment`), with our
 * facilitator client, so that every storage or facilitator fault surfaces as an error instead of
 * being logged and skipped (the resource server only warns when a hook throws).
 *
 * Per request (spec "Request Processing"):
 *   verify  onBeforeVerify: `maxClaimableAmount == chargedCumulativeAmount + price` (else the
 *           corrective 402); an EOA voucher is verified locally (one signature recovery) while the
 *           mirrored on-chain state is fresh, anything else by the facilitator's /verify;
 *           onAfterVerify: the channel is reserved (`pendingRequest`), one request at a time.
 *   handler generate and store the image.
 *   commit  voucher: onBeforeSettle writes `chargedCumulativeAmount += price` (no transaction);
 *           deposit: the facilitator's /settle sends the deposit, onAfterSettle records the
 *           channel and its charge. A failed handler cancels: the reservation is cleared and
 *           the same voucher can be sent again.
 */

export const BATCH_SETTLEMENT = 'batch-settlement' as const;

export type ChannelVerifyOutcome =
  | { readonly kind: 'verified'; readonly payer: string; readonly local: boolean }
  /** A cooperative refund payload: no resource handler, settle it right away. */
  | { readonly kind: 'refund'; readonly payer: string }
  | { readonly kind: 'rejected'; readonly code: string; readonly message: string };

export type ChannelSettleOutcome =
  | { readonly kind: 'charged'; readonly response: CoreSettleResponse }
  | { readonly kind: 'rejected'; readonly code: string; readonly message: string };

export interface ChannelPayments {
  /** The `batch-settlement` entry of the 402's `accepts`, or `undefined` while the facilitator does not offer the scheme. */
  offer(requirements: ServerRequirements): Promise<CorePaymentRequirements | undefined>;
  verify(
    payment: BatchSettlementPaymentPayload,
    offer: CorePaymentRequirements,
  ): Promise<ChannelVerifyOutcome>;
  /** After the handler: commit the charge (voucher), send the deposit, or send the refund. */
  settle(
    payment: BatchSettlementPaymentPayload,
    offer: CorePaymentRequirements,
  ): Promise<ChannelSettleOutcome>;
  /** The handler failed: clear this request's reservation (the voucher stays usable). */
  cancel(payment: BatchSettlementPaymentPayload, offer: CorePaymentRequirements): Promise<void>;
  /** Adds the spec's corrective `channelState` / `voucherState` to `accepts` after a cumulative mismatch. */
  correct(
    payment: BatchSettlementPaymentPayload,
    accepts: CorePaymentRequirements[],
    error: string,
    resource: { url: string; description?: string; mimeType?: string },
  ): Promise<void>;
  readonly scheme: BatchSettlementEvmScheme;
  readonly storage: ChannelStorage;
  /** Claims, settles and refunds in batches (see `startChannelClaims`). */
  readonly manager: BatchSettlementChannelManager;
  /** Raised after a refund claimed vouchers on chain; the claim job settles and lowers it. */
  readonly settleDue: SettleDueFlag | undefined;
  /** Each channel's claim, settle and refund transactions (written by the claim job, read by payers). */
  readonly log: ChannelLog | undefined;
}

export interface ChannelPaymentsOptions {
  readonly storage: ChannelStorage;
  readonly facilitator: FacilitatorClient;
  readonly payTo: `0x${string}`;
  readonly network: ServerRequirements['network'];
  readonly asset: `0x${string}`;
  /** Seconds (900 s minimum, the spec's 15 minutes); every channel config must carry it. */
  readonly withdrawDelaySeconds?: number | undefined;
  /** How long mirrored on-chain state is trusted for local voucher checks (default: the scheme's). */
  readonly onchainStateTtlMs?: number | undefined;
  /** How long the facilitator's /supported answer is kept (default 60 s). */
  readonly supportedTtlMs?: number | undefined;
  /** Raised after every refund (its transaction claims the last vouchers); see `createSettleDueFlag`. */
  readonly settleDue?: SettleDueFlag | undefined;
  /** See `channel-log.ts`; the claim job records into it, `GET /channels/:id/transactions` reads it. */
  readonly log?: ChannelLog | undefined;
  readonly logger: Logger;
}

/** Our facilitator client in the shape `@x402/core` (and so the channel manager) calls. */
export function toCoreFacilitatorClient(facilitator: FacilitatorClient): CoreFacilitatorClient {
  return {
    verify: async (paymentPayload, paymentRequirements) =>
      (await facilitator.verify({
        x402Version: 2,
        paymentPayload,
        paymentRequirements,
      })) as CoreVerifyResponse,
    settle: async (paymentPayload, paymentRequirements) => {
      const reply = await facilitator.settle({ x402Version: 2, paymentPayload, paymentRequirements });
      return { ...reply, network: reply.network as CoreSettleResponse['network'] } as CoreSettleResponse;
    },
    getSupported: async () => {
      const supported = await facilitator.supported();
      return supported as unknown as Awaited<ReturnType<CoreFacilitatorClient['getSupported']>>;
    },
  };
}

/**
 * @example
 * const channels = createChannelPayments({ storage: createChannelStorage(store), facilitator, payTo, network, asset, logger });
 * const offer = await channels.offer(requirements); // undefined: the facilitator has no batch-settlement
 */
export function createChannelPayments(options: ChannelPaymentsOptions): ChannelPayments {
  const { storage, logger, network } = options;
  const scheme = new BatchSettlementEvmScheme(options.payTo, {
    storage,
    ...(options.withdrawDelaySeconds === undefined ? {} : { withdrawDelay: options.withdrawDelaySeconds }),
    ...(options.onchainStateTtlMs === undefined ? {} : { onchainStateTtlMs: options.onchainStateTtlMs }),
  });
  const hooks = scheme.schemeHooks;
  const facilitator = toCoreFacilitatorClient(options.facilitator);
  const manager = scheme.createChannelManager(facilitator, network.caip2, options.asset);

  // The facilitator's batch-settlement kind (its receiverAuthorizer), kept for a while: a 402 must
  // not cost a /supported round trip, and a facilitator that gains or loses the scheme is noticed.
  const supportedTtlMs = options.supportedTtlMs ?? 60_000;
  let supported: { kind: CoreSupportedKind | undefined; at: number } | undefined;
  const supportedKind = async (): Promise<CoreSupportedKind | undefined> => {
    if (supported !== undefined && Date.now() - supported.at < supportedTtlMs) return supported.kind;
    let kind: CoreSupportedKind | undefined;
    try {
      const answer = await options.facilitator.supported();
      const found = answer.kinds.find(
        (k) => k.x402Version === 2 && k.scheme === BATCH_SETTLEMENT && k.network === network.caip2,
      );
      kind =
        found === undefined ||
        scheme.validateFacilitatorSupport(network.caip2, found as CoreSupportedKind, [])
          ? undefined
          : (found as CoreSupportedKind);
    } catch (error) {
      // Offer exact only while the facilitator cannot be asked, and ask again 5 s later (not on
      // every 402: each 402 would wait for the facilitator's timeout).
      logger.warn('facilitator_supported_unavailable', {
        detail: error instanceof Error ? error.message : String(error),
      });
      supported = { kind: undefined, at: Date.now() - supportedTtlMs + 5_000 };
      return undefined;
    }
    supported = { kind, at: Date.now() };
    return kind;
  };

  const asCore = (payment: BatchSettlementPaymentPayload) => payment as unknown as CorePaymentPayload;
  const context = (
    payment: BatchSettlementPaymentPayload,
    offer: CorePaymentRequirements,
  ): SettleContext => ({
    paymentPayload: asCore(payment),
    requirements: offer,
    declaredExtensions: {},
    phase: 'after-handler',
  });
  const payerOf = (payment: BatchSettlementPaymentPayload) => payment.payload.channelConfig.payer;

  return {
    scheme,
    storage,
    manager,
    settleDue: options.settleDue,
    log: options.log,

    async offer(requirements) {
      const kind = await supportedKind();
      if (kind === undefined) return undefined;
      return scheme.enhancePaymentRequirements(
        {
          scheme: BATCH_SETTLEMENT,
          network: requirements.network.caip2,
          amount: requirements.amount.toString(),
          asset: requirements.asset,
          payTo: requirements.payTo,
          maxTimeoutSeconds: MAX_TIMEOUT_SECONDS,
          extra: { ...USDC_EIP712_DOMAIN },
        },
        kind,
        [],
      );
    },

    async verify(payment, offer) {
      const ctx = { paymentPayload: asCore(payment), requirements: offer, declaredExtensions: {} };
      const before = await hooks.onBeforeVerify?.(ctx);
      if (before !== undefined && 'abort' in before && before.abort) {
        return { kind: 'rejected', code: before.reason, message: before.message ?? before.reason };
      }
      let result: CoreVerifyResponse;
      let local = false;
      if (before !== undefined && 'skip' in before && before.skip) {
        result = before.result;
        local = true;
      } else {
        try {
          result = await facilitator.verify(asCore(payment), offer);
        } catch (error) {
          await hooks.onVerifyFailure?.({
            ...ctx,
            error: error instanceof Error ? error : new Error(String(error)),
          });
          throw error;
        }
      }
      const after = await hooks.onAfterVerify?.({ ...ctx, result });
      if (!result.isValid) {
        return {
          kind: 'rejected',
          code: result.invalidReason ?? 'payment_invalid',
          message: result.invalidMessage ?? 'the channel payment is not valid',
        };
      }
      if (after !== undefined && 'abort' in after && after.abort) {
        await hooks.onVerifiedPaymentCanceled?.({
          ...context(payment, offer),
          phase: 'cancel',
          reason: 'after_verify_aborted',
          settledPhases: [],
        });
        return { kind: 'rejected', code: after.reason, message: after.message ?? after.reason };
      }
      // The scheme reserves the channel only for a verify answer that names the payer; without a
      // reservation nothing could be committed (a deposit's charge would go unrecorded): refuse.
      if (scheme.readRequestContext(asCore(payment))?.reservationCommitted !== true) {
        return {
          kind: 'rejected',
          code: 'invalid_batch_settlement_evm_verification_state_unavailable',
          message: 'the channel could not be reserved for this request',
        };
      }
      if (after !== undefined && 'skipHandler' in after && after.skipHandler) {
        return { kind: 'refund', payer: payerOf(payment) };
      }
      return { kind: 'verified', payer: payerOf(payment), local };
    },

    async settle(payment, offer) {
      const ctx = context(payment, offer);
      const before = await hooks.onBeforeSettle?.(ctx);
      if (before !== undefined && 'abort' in before && before.abort) {
        return { kind: 'rejected', code: before.reason, message: before.message ?? before.reason };
      }
      if (before !== undefined && 'skip' in before && before.skip) {
        // A voucher: the charge is committed in the channel record, no transaction.
        const response = { ...before.result };
        await hooks.onAfterSettle?.({ ...ctx, result: response });
        const extra = await scheme.enrichSettlementResponse({ ...ctx, result: response });
        if (extra !== undefined) response.extra = { ...response.extra, ...extra };
        return { kind: 'charged', response };
      }
      if (payment.payload.type === 'voucher') {
        // Never send a voucher to /settle: only the scheme's commit may charge it.
        throw new Error('the batch-settlement scheme did not commit a voucher payload');
      }
      const enrichment = await scheme.enrichSettlementPayload(ctx);
      const settlePayload =
        enrichment === undefined
          ? asCore(payment)
          : { ...asCore(payment), payload: { ...asCore(payment).payload, ...enrichment } };
      // A refund's transaction also claims the channel's unclaimed charge (the enrichment's claim entry).
      const refundClaims =
        payment.payload.type === 'refund' &&
        (await storage
          .get(payment.payload.voucher.channelId)
          .then(
            (channel) =>
              channel !== undefined && BigInt(channel.chargedCumulativeAmount) > BigInt(channel.totalClaimed),
          ));
      const response = await facilitator.settle(settlePayload, offer);
      if (!response.success) {
        await hooks.onSettleFailure?.({
          ...ctx,
          error: new Error(response.errorReason ?? 'settlement failed'),
        });
        return {
          kind: 'rejected',
          code: response.errorReason ?? 'settlement_failed',
          message: response.errorMessage ?? 'the facilitator could not settle the channel payment',
        };
      }
      try {
        await hooks.onAfterSettle?.({ ...ctx, result: response });
      } catch (error) {
        // The deposit (or refund) is on chain; the channel record could not take it (another
        // request took the reservation). Deliver, and say so: the charge is the claim job's to settle.
        logger.error('channel_record_not_updated', {
          channel_id: payment.payload.voucher.channelId,
          transaction: response.transaction,
          detail: error instanceof Error ? error.message : String(error),
        });
      }
      if (refundClaims && options.settleDue !== undefined) {
        // The refund's transaction claimed the channel's last charge: the seller is paid by the
        // next settle, which the claim job sends while this flag is raised.
        await options.settleDue.raise(payment.payload.voucher.channelId).catch((error: unknown) => {
          logger.error('channel_settle_due_not_recorded', {
            channel_id: payment.payload.voucher.channelId,
            transaction: response.transaction,
            detail: error instanceof Error ? error.message : String(error),
          });
        });
      }
      const extra = await scheme.enrichSettlementResponse({ ...ctx, result: response });
      return {
        kind: 'charged',
        response: extra === undefined ? response : { ...response, extra: { ...response.extra, ...extra } },
      };
    },

    async cancel(payment, offer) {
      await hooks.onVerifiedPaymentCanceled?.({
        ...context(payment, offer),
        phase: 'cancel',
        reason: 'handler_failed',
        settledPhases: [],
      });
    },

    async correct(payment, accepts, error, resource) {
      await scheme.enrichPaymentRequiredResponse({
        requirements: accepts,
        paymentPayload: asCore(payment),
        resourceInfo: resource,
        error,
        paymentRequiredResponse: { x402Version: 2, error, resource, accepts },
      });
    },
  };
}
