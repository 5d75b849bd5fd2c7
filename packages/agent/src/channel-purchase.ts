import { formatUsdc } from '@agentic-payments/x402';
import {
  type ChannelPaidResult,
  createChannelPaidFetch,
  sessionChannelSalt,
} from './channel-payment-client.ts';
import { GatewayError, orderRequest, readPurchasedImage } from './gateway-client.ts';
import {
  channelRemaining,
  channelSummary,
  sessionChannelPort,
  sessionChannelStorage,
} from './session-channel.ts';
import type { AgentDeps, SessionContext } from './session-context.ts';
import type { ChannelReceipt, CurrentRequest, StoredImage } from './session-state.ts';

type Json = Record<string, unknown>;

/** The charge the seller reports for this image: `extra.chargedAmount`, at most the price signed for. */
function chargedAmount(result: ChannelPaidResult, price: bigint): bigint {
  const raw = result.settle?.extra?.chargedAmount;
  if (typeof raw === 'string' && /^\d+$/.test(raw) && BigInt(raw) <= price) return BigInt(raw);
  return price;
}

/**
 * Buys the authorized current request through the session's payment channel (PAYMENT_SCHEME=
 * batch-settlement): the first image deposits the session budget (within the wallet's 24-hour room)
 * with its voucher, later images send a voucher only. Receipts: the deposit with its transaction,
 * then the image's charge as a voucher (no transaction of its own).
 */
export async function buyThroughChannel(
  deps: AgentDeps,
  ctx: SessionContext,
  request: CurrentRequest,
  onRefused: (error: unknown) => Json,
): Promise<Json> {
  const { config, policy } = deps;
  const session = ctx.record;
  const amount = BigInt(request.amount);
  const port = sessionChannelPort(deps, ctx, {
    mode: 'purchase',
    authorizedAmount: () => (request.authorized ? amount : undefined),
  });
  const pay = createChannelPaidFetch({
    wallet: deps.wallet,
    policy,
    budget: deps.budget,
    session: port,
    storage: sessionChannelStorage(ctx),
    salt: sessionChannelSalt(session.session_id),
    fetch: deps.fetch,
    depositTarget: async () => {
      const held = port.state().deposited;
      const target = policy.sessionBudget > held ? policy.sessionBudget - held : 0n;
      try {
        const room = (await deps.budget.status()).remaining;
        return room < target ? room : target;
      } catch {
        // The reservation at signing time fails closed; the target stays the session's.
        return target;
      }
    },
  });
  let result: ChannelPaidResult;
  try {
    result = await pay(`${config.gatewayUrl}/generate_image`, orderRequest(request));
  } catch (error) {
    return onRefused(error);
  }
  const { response } = result;
  if (response.status !== 200) {
    const body = (await response.json().catch(() => undefined)) as Json | undefined;
    const reason = typeof body?.error === 'string' ? body.error : `gateway_status_${response.status}`;
    const message =
      typeof body?.message === 'string' ? body.message : `the gateway answered ${response.status}`;
    deps.log({ event: 'generation_failed', session_id: session.session_id, status: response.status, reason });
    return { status: 'failed', reason, message, request_id: request.request_id };
  }
  const channel = session.channel;
  if (!channel) throw new Error('a channel purchase succeeded without a session channel');
  const charged = chargedAmount(result, amount);
  const now = deps.now().toISOString();
  const network = config.network.v1Name;
  // The charge is the seller's from here on: record it before reading the image.
  session.spent = (BigInt(session.spent) + charged).toString();
  const receipts: ChannelReceipt[] = [];
  const depositTx = result.settle?.transaction || undefined;
  if (result.deposit && depositTx) {
    receipts.push({
      kind: 'deposit',
      transaction_hash: depositTx,
      amount: formatUsdc(result.deposit.amount),
      atomic_amount: result.deposit.amount.toString(),
      network,
      explorer_url: `${config.explorerUrl}/tx/${depositTx}`,
      request_id: request.request_id,
      channel_id: channel.channel_id,
      paid_at: now,
    });
  }
  let image: Awaited<ReturnType<typeof readPurchasedImage>> | undefined;
  let readError: unknown;
  try {
    image = await readPurchasedImage(response, deps.fetch, 'batch-settlement');
  } catch (error) {
    readError = error;
  }
  const imageId = image?.imageId ?? deps.newId();
  receipts.push({
    kind: 'voucher',
    amount: formatUsdc(charged),
    atomic_amount: charged.toString(),
    network,
    image_id: imageId,
    request_id: request.request_id,
    channel_id: channel.channel_id,
    cumulative_atomic: session.spent,
    paid_at: now,
  });
  session.payments.push(...receipts);
  ctx.turnPayments.push(...receipts);
  session.current_request = null;
  if (!image) {
    await ctx.persist();
    const reason = readError instanceof GatewayError ? readError.code : 'invalid_gateway_response';
    return { status: 'failed', reason, message: String(readError), request_id: request.request_id };
  }
  const stored: StoredImage = {
    id: imageId,
    request_id: request.request_id,
    prompt: request.prompt,
    mime_type: image.mimeType,
    created_at: now,
    ...(image.base64 ? { data_url: `data:${image.mimeType};base64,${image.base64}` } : {}),
    ...(image.url ? { url: image.url } : {}),
  };
  session.images[imageId] = stored;
  ctx.turnImageIds.push(imageId);
  await ctx.persist();
  deps.log({
    event: 'image_purchased',
    session_id: session.session_id,
    image_id: imageId,
    amount: charged.toString(),
    payment: 'voucher',
    ...(depositTx && result.deposit ? { deposit_transaction: depositTx } : {}),
  });
  const summary = channelSummary(session);
  return {
    status: 'success',
    image_id: imageId,
    request_id: request.request_id,
    prompt: request.prompt,
    cost_usdc: formatUsdc(charged),
    payment: 'voucher',
    transaction_hash: null,
    ...(result.deposit && depositTx
      ? {
          deposit_usdc: formatUsdc(result.deposit.amount),
          deposit_transaction_hash: depositTx,
          deposit_explorer_url: `${config.explorerUrl}/tx/${depositTx}`,
        }
      : {}),
    channel_remaining_usdc: formatUsdc(channelRemaining(session)),
    channel_charged_usdc: summary?.charged ?? formatUsdc(charged),
    network: config.network.displayName,
  };
}
