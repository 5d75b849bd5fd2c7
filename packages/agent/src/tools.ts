import { findError, formatUsdc } from '@agentic-payments/x402';
import { type InvokableTool, tool } from '@strands-agents/sdk';
import { z } from 'zod';
import { buyThroughChannel } from './channel-purchase.ts';
import { GatewayError, orderRequest, readPurchasedImage, requestQuote } from './gateway-client.ts';
import { createPaidFetch, PaymentFailedError, PaymentRefusedError } from './payment-client.ts';
import { channelRemaining, channelSummary, closeSessionChannel } from './session-channel.ts';
import type { AgentDeps, SessionContext } from './session-context.ts';
import type { CurrentRequest, SessionRecord, StoredImage } from './session-state.ts';
import { evaluatePayment, LIMIT_OF_REFUSAL, type PaymentIntent } from './spending-policy.ts';
import type { WalletBudgetStatus } from './wallet-budget.ts';

/** Tool names exactly as in the seed. */
export const TOOL_NAMES = {
  estimate: 'estimate_image_cost',
  balance: 'check_wallet_balance',
  pay: 'make_payment',
  generate: 'generate_image',
  analyze: 'analyze_content_monetization',
  /** Not in the seed: ends a payment session (batch-settlement) and asks for the unspent deposit back. */
  endSession: 'end_session',
} as const;

const EXPLICIT_YES =
  /^\s*(yes|y|yep|yeah|sure|ok|okay|confirm|confirmed|approve|approved|go ahead|proceed)\b/i;
const NEGATION = /\b(no|not|don't|dont|never|cancel|stop|wait|decline)\b/i;

/** Confirm mode: the latest user message itself must be an explicit yes (not one the model infers). */
export function isExplicitYes(text: string): boolean {
  return EXPLICIT_YES.test(text) && !NEGATION.test(text) && text.length <= 200;
}

type Json = Record<string, unknown>;

const NO_REQUEST_TO_PAY =
  'There is no image request to pay for. Ask for an image first; I only pay the configured seller for an estimated image.';
const NO_REQUEST_TO_GENERATE = 'Call estimate_image_cost first to get a price and request_id.';

/** The session's current request, or the tool reply saying why there is none to act on. */
function findCurrentRequest(
  session: SessionRecord,
  requestId: string | undefined,
  noneMessage: string,
): { request: CurrentRequest } | { reply: Json } {
  const request = session.current_request;
  if (!request) return { reply: { status: 'no_pending_request', message: noneMessage } };
  if (requestId && requestId !== request.request_id) {
    return {
      reply: {
        status: 'unknown_request',
        message: `request ${requestId} is not the current request ${request.request_id}`,
      },
    };
  }
  return { request };
}

/**
 * The seed's five tools, bound to one session. Amounts, payees and assets never come from the model:
 * the model can only refer to the current request, whose price is the seller's quote.
 */
export function createSessionTools(deps: AgentDeps, ctx: SessionContext): InvokableTool<unknown, Json>[] {
  const { config, policy, wallet } = deps;
  const session = ctx.record;

  const estimate = tool({
    name: TOOL_NAMES.estimate,
    description:
      'Get the cost in USDC of generating an image (the seller quotes it) and a new request_id. Always call this first for a new image request.',
    inputSchema: z.object({
      prompt: z.string().min(1).max(1024).describe('What the image should show'),
      size: z.enum(['1024x1024', '2048x2048']).default('1024x1024'),
      quality: z.enum(['standard', 'premium']).default('standard'),
    }),
    callback: async (input): Promise<Json> => {
      const requestId = deps.newId();
      try {
        const quote = await requestQuote(
          deps.fetch,
          config.gatewayUrl,
          { request_id: requestId, prompt: input.prompt, size: input.size, quality: input.quality },
          config.network,
          config.paymentScheme,
        );
        session.current_request = {
          request_id: requestId,
          prompt: input.prompt,
          size: input.size,
          quality: input.quality,
          amount: quote.amount.toString(),
          pay_to: quote.payTo,
          asset: quote.asset,
          network: quote.network,
          authorized: false,
          estimated_turn: session.turn,
        };
        const spent = BigInt(session.spent);
        const wallet24h = await budgetStatus(deps, session.session_id);
        return {
          status: 'estimated',
          request_id: requestId,
          prompt: input.prompt,
          size: input.size,
          quality: input.quality,
          cost_usdc: formatUsdc(quote.amount),
          atomic_amount: quote.amount.toString(),
          network: config.network.v1Name,
          per_payment_cap_usdc: formatUsdc(policy.maxPayment),
          session_budget_remaining_usdc: formatUsdc(policy.sessionBudget - spent),
          ...(wallet24h ? { wallet_budget_remaining_24h_usdc: formatUsdc(wallet24h.remaining) } : {}),
          consent_mode: config.consentMode,
        };
      } catch (error) {
        if (error instanceof GatewayError)
          return { status: 'failed', reason: error.code, message: error.message };
        throw error;
      }
    },
  });

  const balance = tool({
    name: TOOL_NAMES.balance,
    description: "Show the agent wallet's address, network, chain id and ETH and USDC balances.",
    inputSchema: z.object({}),
    callback: async (): Promise<Json> => {
      let eth: bigint;
      let usdc: bigint;
      try {
        ({ eth, usdc } = await wallet.balances());
      } catch (error) {
        deps.log({ event: 'wallet_balance_failed', session_id: session.session_id, error: String(error) });
        return {
          status: 'failed',
          reason: 'wallet_unavailable',
          message: 'the wallet balance could not be read from the network',
        };
      }
      return {
        status: 'ok',
        address: wallet.address,
        network: config.network.displayName,
        network_id: config.network.v1Name,
        chain_id: config.network.chainId,
        eth: formatUsdcLike(eth, 18),
        usdc: formatUsdc(usdc),
        session_spent_usdc: formatUsdc(BigInt(session.spent)),
        session_budget_usdc: formatUsdc(policy.sessionBudget),
        per_payment_cap_usdc: formatUsdc(policy.maxPayment),
        ...walletBudgetFields(await budgetStatus(deps, session.session_id)),
      };
    },
  });

  const pay = tool({
    name: TOOL_NAMES.pay,
    description:
      'Authorize payment for the current image request (the consent gate). Checks balance and spending limits; moves no funds. Call it after generate_image returns AUTHORIZE_CHECK.',
    inputSchema: z.object({
      request_id: z.string().optional().describe('The request_id from estimate_image_cost'),
    }),
    callback: async (input): Promise<Json> => {
      const found = findCurrentRequest(session, input.request_id, NO_REQUEST_TO_PAY);
      if ('reply' in found) return found.reply;
      const { request } = found;
      const amount = BigInt(request.amount);
      if (
        config.consentMode === 'confirm' &&
        !(request.estimated_turn < session.turn && isExplicitYes(ctx.latestUserText))
      ) {
        return {
          status: 'confirmation_required',
          request_id: request.request_id,
          cost_usdc: formatUsdc(amount),
          message: `The user must confirm with an explicit "yes" in their next message before paying ${formatUsdc(amount)} USDC.`,
        };
      }
      const spent = BigInt(session.spent);
      const intent: PaymentIntent = {
        amount,
        payTo: request.pay_to,
        asset: request.asset,
        network: request.network,
      };
      // In a payment session whose channel still holds the price, this image moves no money from
      // the wallet (a voucher): neither the wallet's 24-hour budget nor its balance is in play.
      const fromChannel =
        config.paymentScheme === 'batch-settlement' &&
        session.channel?.status === 'open' &&
        channelRemaining(session) >= amount;
      const wallet24h = fromChannel ? { spent: undefined } : await budgetStatus(deps, session.session_id);
      if (!wallet24h) {
        return {
          status: 'failed',
          reason: 'wallet_budget_unavailable',
          message: "the wallet's 24-hour budget could not be read, so nothing was authorized",
          request_id: request.request_id,
        };
      }
      const decision = evaluatePayment(
        policy,
        {
          authorizedAmount: amount,
          spent,
          ...(wallet24h.spent !== undefined ? { walletSpent24h: wallet24h.spent } : {}),
        },
        intent,
      );
      if (!decision.allowed) {
        deps.log({ event: 'payment_rejected', session_id: session.session_id, reason: decision.reason });
        const limit = LIMIT_OF_REFUSAL[decision.reason];
        return {
          status: 'rejected',
          reason: decision.reason,
          ...(limit ? { limit } : {}),
          message: decision.message,
          request_id: request.request_id,
        };
      }
      if (fromChannel) {
        request.authorized = true;
        return {
          status: 'authorized',
          request_id: request.request_id,
          cost_usdc: formatUsdc(amount),
          payment: 'voucher',
          channel_remaining_usdc: formatUsdc(channelRemaining(session)),
          message:
            "Payment authorized (a voucher on this session's channel). Call generate_image again to pay and generate.",
        };
      }
      let usdc: bigint;
      try {
        ({ usdc } = await wallet.balances());
      } catch (error) {
        deps.log({ event: 'wallet_balance_failed', session_id: session.session_id, error: String(error) });
        return {
          status: 'failed',
          reason: 'wallet_unavailable',
          message: 'the wallet balance could not be read from the network',
        };
      }
      if (usdc < amount) {
        return {
          status: 'insufficient_balance',
          reason: 'insufficient_balance',
          message: `The wallet holds ${formatUsdc(usdc)} USDC but the image costs ${formatUsdc(amount)} USDC.`,
          balance_usdc: formatUsdc(usdc),
          cost_usdc: formatUsdc(amount),
        };
      }
      request.authorized = true;
      return {
        status: 'authorized',
        request_id: request.request_id,
        cost_usdc: formatUsdc(amount),
        message: 'Payment authorized. Call generate_image again to pay and generate.',
      };
    },
  });

  const generate = tool({
    name: TOOL_NAMES.generate,
    description:
      'Generate the current image request. Returns AUTHORIZE_CHECK until make_payment authorized it; then pays the seller over x402 and returns the image id and transaction.',
    inputSchema: z.object({
      request_id: z.string().optional().describe('The request_id from estimate_image_cost'),
    }),
    callback: async (input): Promise<Json> => {
      const found = findCurrentRequest(session, input.request_id, NO_REQUEST_TO_GENERATE);
      if ('reply' in found) return found.reply;
      const { request } = found;
      const amount = BigInt(request.amount);
      if (!request.authorized) {
        return {
          status: 'AUTHORIZE_CHECK',
          request_id: request.request_id,
          cost_usdc: formatUsdc(amount),
          consent_mode: config.consentMode,
          message: 'Payment not authorized yet: call make_payment for this request.',
        };
      }
      if (config.paymentScheme === 'batch-settlement') {
        return buyThroughChannel(deps, ctx, request, (error) => {
          const refusal = refusalFrom(error);
          deps.log({
            event: 'payment_refused',
            session_id: session.session_id,
            reason: refusal.reason,
            ...(refusal.reason === 'payment_failed' ? { error: String(error) } : {}),
          });
          return { status: 'payment_refused', ...refusal, request_id: request.request_id };
        });
      }
      let signed: PaymentIntent | undefined;
      const paidFetch = createPaidFetch({
        wallet,
        policy,
        budget: deps.budget,
        fetch: deps.fetch,
        state: () => ({
          authorizedAmount: request.authorized ? amount : undefined,
          spent: BigInt(session.spent),
        }),
        onSigned: (intent) => {
          signed = intent;
        },
      });
      let response: Response;
      try {
        response = await paidFetch(`${config.gatewayUrl}/generate_image`, orderRequest(request));
      } catch (error) {
        const refusal = refusalFrom(error);
        deps.log({
          event: 'payment_refused',
          session_id: session.session_id,
          reason: refusal.reason,
          ...(refusal.reason === 'payment_failed' ? { error: String(error) } : {}),
        });
        return { status: 'payment_refused', ...refusal, request_id: request.request_id };
      }
      if (response.status !== 200) {
        const body = (await response.json().catch(() => undefined)) as Json | undefined;
        const reason = typeof body?.error === 'string' ? body.error : `gateway_status_${response.status}`;
        const message =
          typeof body?.message === 'string' ? body.message : `the gateway answered ${response.status}`;
        deps.log({
          event: 'generation_failed',
          session_id: session.session_id,
          status: response.status,
          reason,
        });
        return { status: 'failed', reason, message, request_id: request.request_id };
      }
      let image: Awaited<ReturnType<typeof readPurchasedImage>>;
      try {
        image = await readPurchasedImage(response, deps.fetch);
      } catch (error) {
        const reason = error instanceof GatewayError ? error.code : 'invalid_gateway_response';
        return { status: 'failed', reason, message: String(error), request_id: request.request_id };
      }
      const paid = signed?.amount ?? amount;
      const imageId = image.imageId ?? deps.newId();
      const now = deps.now().toISOString();
      const stored: StoredImage = {
        id: imageId,
        request_id: request.request_id,
        prompt: request.prompt,
        mime_type: image.mimeType,
        created_at: now,
        ...(image.base64 ? { data_url: `data:${image.mimeType};base64,${image.base64}` } : {}),
        ...(image.url ? { url: image.url } : {}),
        ...(image.transactionHash ? { transaction_hash: image.transactionHash } : {}),
      };
      session.images[imageId] = stored;
      session.spent = (BigInt(session.spent) + paid).toString();
      const explorerUrl = image.transactionHash ? `${config.explorerUrl}/tx/${image.transactionHash}` : '';
      if (image.transactionHash) {
        const receipt = {
          transaction_hash: image.transactionHash,
          amount: formatUsdc(paid),
          atomic_amount: paid.toString(),
          network: config.network.v1Name,
          explorer_url: explorerUrl,
          image_id: imageId,
          request_id: request.request_id,
          paid_at: now,
        };
        session.payments.push(receipt);
        ctx.turnPayments.push(receipt);
      }
      ctx.turnImageIds.push(imageId);
      // Seed step 14: clear the current request, keep the payment history.
      session.current_request = null;
      deps.log({
        event: 'image_purchased',
        session_id: session.session_id,
        image_id: imageId,
        amount: paid.toString(),
      });
      return {
        status: 'success',
        image_id: imageId,
        request_id: request.request_id,
        prompt: request.prompt,
        cost_usdc: formatUsdc(paid),
        transaction_hash: image.transactionHash ?? null,
        explorer_url: explorerUrl || null,
        network: config.network.displayName,
      };
    },
  });

  const analyze = tool({
    name: TOOL_NAMES.analyze,
    description: 'Analyze an image generated in this session for content monetization opportunities.',
    inputSchema: z.object({
      image_id: z.string().optional().describe('Defaults to the latest image of this session'),
    }),
    callback: async (input): Promise<Json> => {
      const images = Object.values(session.images);
      const image = input.image_id ? session.images[input.image_id] : images.at(-1);
      if (!image) {
        return {
          status: 'not_found',
          message: input.image_id
            ? `No image ${input.image_id} in this session.`
            : 'No image has been generated in this session yet.',
        };
      }
      const bytes = await imageBytes(deps, image);
      const analysis = await deps.analyzer.analyze({ png: bytes, prompt: image.prompt });
      return {
        status: 'analyzed',
        image_id: image.id,
        analyzer: analysis.analyzer,
        analysis: JSON.parse(JSON.stringify(analysis)) as Json,
      };
    },
  });

  const endSession = tool({
    name: TOOL_NAMES.endSession,
    description:
      'End this payment session when the user asks to end it or start a new session: asks the seller to refund what the session deposited and did not spend. Moves money only back to the wallet.',
    inputSchema: z.object({}),
    callback: async (): Promise<Json> => endSessionReply(deps, ctx),
  });

  return [estimate, balance, pay, generate, analyze, endSession] as InvokableTool<unknown, Json>[];
}

/** The end_session tool's reply (also what an idle session's close logs). */
export async function endSessionReply(deps: AgentDeps, ctx: SessionContext): Promise<Json> {
  const closed = await closeSessionChannel(deps, ctx);
  const channel = channelSummary(ctx.record);
  switch (closed.status) {
    case 'no_channel':
      return {
        status: 'ended',
        message:
          deps.config.paymentScheme === 'exact'
            ? 'This session paid each image on its own (exact): there is no deposit to refund.'
            : 'This session made no deposit: there is nothing to refund.',
      };
    case 'nothing_to_refund':
      return { status: 'ended', message: 'The session channel holds nothing unspent.', channel };
    case 'refunded':
      return {
        status: 'refunded',
        refunded_usdc: closed.receipt.amount,
        transaction_hash: closed.receipt.transaction_hash ?? null,
        explorer_url: closed.receipt.explorer_url ?? null,
        channel,
      };
    case 'failed':
      return {
        status: 'failed',
        reason: closed.reason,
        message: `The refund could not be made (${closed.message}); the deposit stays in the channel and can be refunded later.`,
        channel,
      };
  }
}

function formatUsdcLike(value: bigint, decimals: number): string {
  const base = 10n ** BigInt(decimals);
  const whole = value / base;
  const frac = (value % base).toString().padStart(decimals, '0').slice(0, 6);
  return `${whole}.${frac}`;
}

/** The tool reply for a paid request that threw: found by class and code in the cause chain. */
function refusalFrom(error: unknown): { reason: string; limit?: string; message: string } {
  const refused = findError(error, PaymentRefusedError);
  if (refused) {
    return {
      reason: refused.code,
      ...(refused.limit ? { limit: refused.limit } : {}),
      message: refused.message,
    };
  }
  const failed = findError(error, PaymentFailedError);
  if (failed) return { reason: failed.code, message: failed.message };
  return { reason: 'payment_failed', message: 'the x402 payment could not be made' };
}

/** The wallet's 24-hour budget for a reply, or undefined (logged) when the store cannot be read. */
async function budgetStatus(deps: AgentDeps, sessionId: string): Promise<WalletBudgetStatus | undefined> {
  try {
    return await deps.budget.status();
  } catch (error) {
    deps.log({ event: 'wallet_budget_unavailable', session_id: sessionId, error: String(error) });
    return undefined;
  }
}

function walletBudgetFields(status: WalletBudgetStatus | undefined): Json {
  if (!status) return {};
  return {
    wallet_budget_24h_usdc: formatUsdc(status.cap),
    wallet_spent_24h_usdc: formatUsdc(status.spent),
    wallet_budget_remaining_24h_usdc: formatUsdc(status.remaining),
  };
}

async function imageBytes(deps: AgentDeps, image: StoredImage): Promise<Uint8Array> {
  if (image.data_url) {
    return Buffer.from(image.data_url.slice(image.data_url.indexOf(',') + 1), 'base64');
  }
  if (image.url) {
    const response = await deps.fetch(image.url);
    if (!response.ok) throw new Error(`image ${image.id} could not be fetched (${response.status})`);
    return new Uint8Array(await response.arrayBuffer());
  }
  throw new Error(`image ${image.id} has no data`);
}
