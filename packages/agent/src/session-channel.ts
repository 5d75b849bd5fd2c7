import { type AgentSessionChannel, ChannelTransactionsResponse, formatUsdc } from '@agentic-payments/x402';
import type { SettleResponse } from '@x402/core/types';
import {
  type ChannelSessionPort,
  createSessionChannelStorage,
  refundSessionChannel,
  sessionChannelSalt,
} from './channel-payment-client.ts';
import type { AgentDeps, SessionContext } from './session-context.ts';
import type { ChannelReceipt, SessionChannel, SessionRecord } from './session-state.ts';
import type { ChannelSpendingState } from './spending-policy.ts';

/** Deposits signed into the channel and not proven unsent (atomic). */
export function depositedTotal(channel: SessionChannel | undefined): bigint {
  return (channel?.deposits ?? []).reduce((sum, deposit) => sum + BigInt(deposit.amount), 0n);
}

/** The part of the session's channel the seller has not charged and that was not refunded (atomic). */
export function channelRemaining(record: SessionRecord): bigint {
  const channel = record.channel;
  if (!channel) return 0n;
  const left = depositedTotal(channel) - BigInt(record.spent) - BigInt(channel.refunded);
  return left > 0n ? left : 0n;
}

/** The channel balance for `output.session.channel` (the chat's wallet panel). */
export function channelSummary(record: SessionRecord): AgentSessionChannel | undefined {
  const channel = record.channel;
  if (!channel) return undefined;
  const deposited = depositedTotal(channel);
  const charged = BigInt(record.spent);
  const refunded = BigInt(channel.refunded);
  const remaining = channelRemaining(record);
  const depositTx = channel.deposits.findLast((d) => d.transaction_hash)?.transaction_hash;
  const refundTx = record.payments.findLast(
    (p): p is ChannelReceipt => 'kind' in p && p.kind === 'refund' && p.channel_id === channel.channel_id,
  )?.transaction_hash;
  return {
    channel_id: channel.channel_id,
    status: channel.status,
    deposited: formatUsdc(deposited),
    deposited_atomic: deposited.toString(),
    charged: formatUsdc(charged),
    charged_atomic: charged.toString(),
    refunded: formatUsdc(refunded),
    refunded_atomic: refunded.toString(),
    remaining: formatUsdc(remaining),
    remaining_atomic: remaining.toString(),
    ...(depositTx ? { deposit_transaction: depositTx } : {}),
    ...(refundTx ? { refund_transaction: refundTx } : {}),
  };
}

/**
 * The session's side of a channel payment: its spending state read from the record, and every step
 * written to the record and persisted at once (a deposit signed is money in flight; losing that in a
 * crash would let a restarted session deposit again beyond its budget).
 */
export function sessionChannelPort(
  deps: AgentDeps,
  ctx: SessionContext,
  options: { mode: ChannelSpendingState['mode']; authorizedAmount: () => bigint | undefined },
): ChannelSessionPort {
  const record = ctx.record;
  const salt = sessionChannelSalt(record.session_id);
  return {
    state: () => ({
      authorizedAmount: options.authorizedAmount(),
      channelId: record.channel?.channel_id,
      charged: BigInt(record.spent),
      deposited: depositedTotal(record.channel) - BigInt(record.channel?.refunded ?? '0'),
      signedMax: BigInt(record.channel?.signed_max ?? '0'),
      mode: options.mode,
    }),
    async bindChannel(channelId) {
      const channel = record.channel;
      if (channel && channel.channel_id.toLowerCase() !== channelId.toLowerCase()) {
        return {
          allowed: false,
          reason: 'unexpected_channel',
          message: `the seller's terms name channel ${channelId}, but this session pays through ${channel.channel_id}`,
        };
      }
      if (!channel) {
        record.channel = {
          scheme: 'batch-settlement',
          channel_id: channelId,
          salt,
          status: 'open',
          deposits: [],
          signed_max: '0',
          refunded: '0',
          opened_at: deps.now().toISOString(),
        };
        await ctx.persist();
      }
      return { allowed: true };
    },
    async depositSigned(reservationId, amount) {
      const channel = record.channel;
      if (!channel) throw new Error('a deposit was signed before the session bound its channel');
      channel.deposits.push({ reservation_id: reservationId, amount: amount.toString(), state: 'signed' });
      channel.status = 'open';
      delete channel.closed_at;
      await ctx.persist();
    },
    async depositConfirmed(reservationId, transactionHash) {
      const deposit = record.channel?.deposits.find((d) => d.reservation_id === reservationId);
      if (!deposit) return;
      deposit.state = 'confirmed';
      if (transactionHash) deposit.transaction_hash = transactionHash;
      await ctx.persist();
    },
    async depositReleased(reservationId) {
      const channel = record.channel;
      if (!channel) return;
      channel.deposits = channel.deposits.filter((d) => d.reservation_id !== reservationId);
      await ctx.persist();
    },
    voucherSigned(cumulative) {
      const channel = record.channel;
      if (channel && cumulative > BigInt(channel.signed_max)) channel.signed_max = cumulative.toString();
    },
  };
}

/** The official client's channel storage, kept in the session record. */
export function sessionChannelStorage(ctx: SessionContext) {
  return createSessionChannelStorage(() => ctx.record.channel, ctx.persist);
}

export type CloseChannelResult =
  | { status: 'no_channel' | 'nothing_to_refund' }
  | { status: 'refunded'; receipt: ChannelReceipt; returnedToBudget: bigint }
  | { status: 'failed'; reason: string; message: string };

/**
 * Ends the session's channel: asks the seller for the cooperative refund of what the session did
 * not spend (ending the session: "New Session" in the chat, or the idle timer). The refunded amount
 * leaves the wallet's 24-hour budget again (it came back), newest deposit first.
 */
export async function closeSessionChannel(deps: AgentDeps, ctx: SessionContext): Promise<CloseChannelResult> {
  const record = ctx.record;
  const channel = record.channel;
  if (!channel) return { status: 'no_channel' };
  if (channel.status === 'closed' || channelRemaining(record) === 0n) {
    return { status: 'nothing_to_refund' };
  }
  const session = sessionChannelPort(deps, ctx, { mode: 'refund', authorizedAmount: () => undefined });
  let settle: SettleResponse;
  try {
    settle = await refundSessionChannel({
      wallet: deps.wallet,
      policy: deps.policy,
      budget: deps.budget,
      session,
      storage: sessionChannelStorage(ctx),
      salt: channel.salt,
      url: `${deps.config.gatewayUrl}/generate_image`,
      fetch: deps.fetch,
    });
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    deps.log({ event: 'channel_refund_failed', session_id: record.session_id, error: String(error) });
    return {
      status: 'failed',
      reason: typeof code === 'string' ? code : 'refund_failed',
      message: error instanceof Error ? error.message : String(error),
    };
  }
  const refunded = /^\d+$/.test(settle.amount ?? '')
    ? BigInt(settle.amount as string)
    : channelRemaining(record);
  let toReturn = refunded;
  let returnedToBudget = 0n;
  for (const deposit of [...channel.deposits].reverse()) {
    if (toReturn <= 0n) break;
    try {
      const returned = await deps.budget.returnFunds(deposit.reservation_id, toReturn);
      toReturn -= returned;
      returnedToBudget += returned;
    } catch (error) {
      // The refund happened; the budget only counts it for up to 24 hours longer than needed.
      deps.log({ event: 'wallet_budget_return_failed', session_id: record.session_id, error: String(error) });
      break;
    }
  }
  const now = deps.now().toISOString();
  channel.refunded = (BigInt(channel.refunded) + refunded).toString();
  channel.status = 'closed';
  channel.closed_at = now;
  const transaction = settle.transaction || undefined;
  const receipt: ChannelReceipt = {
    kind: 'refund',
    ...(transaction
      ? { transaction_hash: transaction, explorer_url: `${deps.config.explorerUrl}/tx/${transaction}` }
      : {}),
    amount: formatUsdc(refunded),
    atomic_amount: refunded.toString(),
    network: deps.config.network.v1Name,
    channel_id: channel.channel_id,
    paid_at: now,
  };
  // A refund receipt names its transaction; a seller that reported none gets no receipt (logged).
  if (transaction) {
    record.payments.push(receipt);
    ctx.turnPayments.push(receipt);
  }
  await ctx.persist();
  await syncChannelTransactions(deps, ctx);
  deps.log({
    event: 'channel_refunded',
    session_id: record.session_id,
    amount: refunded.toString(),
    transaction: transaction ?? null,
  });
  return { status: 'refunded', receipt, returnedToBudget };
}

/**
 * Adds the seller's claim and settle transactions of the session's channel to its receipts, each
 * once: the gateway lists them (`GET /channels/:id/transactions`; x402's answers carry none). Called
 * after every turn of a session with a channel and after its refund. Never throws: a gateway that
 * cannot be asked only delays them to the next call (logged).
 */
export async function syncChannelTransactions(
  deps: AgentDeps,
  ctx: SessionContext,
): Promise<ChannelReceipt[]> {
  const record = ctx.record;
  const channel = record.channel;
  if (!channel) return [];
  let listed: ChannelTransactionsResponse;
  try {
    const res = await deps.fetch(`${deps.config.gatewayUrl}/channels/${channel.channel_id}/transactions`);
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    listed = ChannelTransactionsResponse.parse(await res.json());
  } catch (error) {
    deps.log({
      level: 'warn',
      event: 'channel_transactions_unavailable',
      session_id: record.session_id,
      error: String(error),
    });
    return [];
  }
  const known = new Set(
    record.payments.map((p) => ('kind' in p ? `${p.kind}:${p.transaction_hash?.toLowerCase()}` : '')),
  );
  const added: ChannelReceipt[] = [];
  for (const entry of listed.transactions) {
    // The seller's own refund of an idle channel is not a receipt here: this session refunds itself.
    if (entry.kind === 'refund') continue;
    const hash = entry.transaction_hash.toLowerCase();
    if (known.has(`${entry.kind}:${hash}`)) continue;
    known.add(`${entry.kind}:${hash}`);
    added.push({
      kind: entry.kind,
      transaction_hash: hash,
      explorer_url: `${deps.config.explorerUrl}/tx/${hash}`,
      amount: '0',
      atomic_amount: '0',
      network: deps.config.network.v1Name,
      channel_id: channel.channel_id,
      paid_at: entry.recorded_at,
    });
  }
  if (added.length > 0) {
    record.payments.push(...added);
    ctx.turnPayments.push(...added);
    await ctx.persist();
  }
  return added;
}
