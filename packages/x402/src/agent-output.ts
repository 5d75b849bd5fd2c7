// The agent's reply (`POST /invocations` → `{"output": ...}`), defined once: the agent builds it, the
// realtime handlers parse it where the agent's reply arrives and forward it in the `complete` frame's
// `response.output`, and the chat page and the demo parse it where the frame arrives.
//
// This module imports nothing but zod, so the browser bundle can import it on its own
// (`@agentic-payments/x402/agent-output`) without viem or Node built-ins.
//
// Compatibility: the design card's fields (`message`, `timestamp`, `model`, `session_id`, `images`)
// never change; everything after them was added and stays optional for readers, so an older agent's
// reply still parses. Unknown fields are kept (`looseObject`), so a newer agent's reply does too.
import { z } from 'zod';

const TX_HASH = /^0x[0-9a-fA-F]{64}$/;
/** Atomic USDC units (6 decimals) as a decimal integer string: money on the wire is never a float. */
export const AtomicUsdc = z.string().regex(/^\d+$/, 'atomic USDC amount (an integer string)');

/**
 * What a receipt records. Absent: an `exact` payment (one EIP-3009 transfer, its own transaction;
 * every receipt before payment sessions). The batch-settlement scheme's receipts: `deposit` (the
 * session budget paid into the channel, its own transaction), `voucher` (one image's charge, signed
 * off chain: no transaction of its own, the seller claims it later in a batch), `refund` (the
 * unspent rest returned to the wallet, its own transaction), and the seller's transactions on the
 * session's channel, as its gateway reports them: `claim` (the charges claimed, in a batch with
 * other channels) and `settle` (what was claimed paid out to the seller). Those two move nothing
 * from the wallet: their amount is 0.
 */
export const ReceiptKind = z.enum(['deposit', 'voucher', 'refund', 'claim', 'settle']);
export type ReceiptKind = z.infer<typeof ReceiptKind>;

/** One payment, as the agent reports it (docs/CONVENTIONS.md: `output.payments`). */
export const AgentPaymentReceipt = z
  .looseObject({
    kind: ReceiptKind.optional(),
    /** Required on every receipt but a voucher's, which has no transaction. */
    transaction_hash: z.string().regex(TX_HASH, 'transaction hash: 0x followed by 64 hex digits').optional(),
    /** Decimal USDC for people ("0.04"). */
    amount: z.string(),
    atomic_amount: AtomicUsdc.optional(),
    /** The protocol's network id (x402 v1 name, e.g. `base-sepolia`, also on the devnet). */
    network: z.string(),
    /** What a person reads (e.g. "Local devnet — Base Sepolia stand-in (chain 84532)"). */
    network_name: z.string().optional(),
    explorer_url: z.string().optional(),
    image_id: z.string().optional(),
    request_id: z.string().optional(),
    paid_at: z.string().optional(),
    /** The payment channel of a deposit, voucher or refund (bytes32). */
    channel_id: z.string().regex(TX_HASH, 'channel id: 0x followed by 64 hex digits').optional(),
    /** After a voucher: the channel's charged total (atomic USDC). */
    cumulative_atomic: AtomicUsdc.optional(),
  })
  .refine((receipt) => receipt.kind === 'voucher' || receipt.transaction_hash !== undefined, {
    message: 'transaction_hash is required on every receipt but a voucher',
    path: ['transaction_hash'],
  });
export type AgentPaymentReceipt = z.infer<typeof AgentPaymentReceipt>;

/** The agent wallet's balances after the turn. */
export const AgentWalletSnapshot = z.looseObject({
  address: z.string(),
  /** The protocol's network id; `network_name` is the one people read. */
  network: z.string(),
  network_name: z.string().optional(),
  chain_id: z.number().optional(),
  eth: z.string().optional(),
  usdc: z.string().optional(),
  /** The wallet's rolling 24-hour cap over all sessions and what they spent of it (decimal USDC). */
  budget_24h: z.string().optional(),
  spent_24h: z.string().optional(),
});
export type AgentWalletSnapshot = z.infer<typeof AgentWalletSnapshot>;

/**
 * A batch-settlement session's channel balance (the chat's wallet panel): decimal USDC for people,
 * atomic beside it. `remaining` = `deposited` − `charged` − `refunded`, what the seller could still
 * be paid from the channel (and what ending the session asks back).
 */
export const AgentSessionChannel = z.looseObject({
  channel_id: z.string().regex(TX_HASH, 'channel id: 0x followed by 64 hex digits'),
  /** `open` while it holds the session's deposit; `closed` once the rest was refunded. */
  status: z.enum(['open', 'closed']),
  deposited: z.string(),
  deposited_atomic: AtomicUsdc,
  charged: z.string(),
  charged_atomic: AtomicUsdc,
  refunded: z.string(),
  refunded_atomic: AtomicUsdc,
  remaining: z.string(),
  remaining_atomic: AtomicUsdc,
  deposit_transaction: z.string().regex(TX_HASH).optional(),
  refund_transaction: z.string().regex(TX_HASH).optional(),
});
export type AgentSessionChannel = z.infer<typeof AgentSessionChannel>;

/** At most this many of a session's receipts ride in one reply (API Gateway frames are small). */
export const SESSION_RECEIPTS_LIMIT = 20;

/** The session's payment history and spend against its budget, in every reply. */
export const AgentSessionSpend = z.looseObject({
  /** The session's latest receipts, oldest first (at most SESSION_RECEIPTS_LIMIT). */
  payments: z.array(AgentPaymentReceipt),
  /** How many payments the session has made in all (may exceed `payments.length`). */
  payment_count: z.number().int().nonnegative(),
  /** Decimal USDC paid in this session, and the session's budget. */
  spent: z.string(),
  spent_atomic: AtomicUsdc,
  budget: z.string(),
  budget_atomic: AtomicUsdc,
  /** How this session pays: `exact` (absent from older agents) or `batch-settlement`. */
  payment_scheme: z.enum(['exact', 'batch-settlement']).optional(),
  /** The session's payment channel (batch-settlement), once its first purchase opened it. */
  channel: AgentSessionChannel.optional(),
});
export type AgentSessionSpend = z.infer<typeof AgentSessionSpend>;

/** The AgentCore `output` object (DESIGN.md wire contract) plus `payments`, `wallet` and `session`. */
export const AgentOutput = z.looseObject({
  message: z.looseObject({
    role: z.string(),
    content: z.array(z.looseObject({ text: z.string().optional() })),
  }),
  timestamp: z.string().optional(),
  model: z.string().optional(),
  session_id: z.string().optional(),
  /** image id → URL (presigned S3 / local signed URL), or a data URL straight from the agent. */
  images: z.record(z.string(), z.string()).optional(),
  /** Receipts of payments made in this turn. */
  payments: z.array(AgentPaymentReceipt).optional(),
  wallet: AgentWalletSnapshot.nullable().optional(),
  session: AgentSessionSpend.optional(),
});
export type AgentOutput = z.infer<typeof AgentOutput>;

/** The agent's `POST /invocations` 200 body. */
export const AgentInvocationResponse = z.looseObject({ output: AgentOutput });
export type AgentInvocationResponse = z.infer<typeof AgentInvocationResponse>;

/** The WebSocket `complete` frame as a client reads it: the agent's output, images as URLs. */
export const CompleteFrame = z.looseObject({
  type: z.literal('complete'),
  sessionId: z.string().optional(),
  response: z.looseObject({ output: AgentOutput }),
});
export type CompleteFrame = z.infer<typeof CompleteFrame>;

/** The reply's text: the message's text parts, one per line. */
export function agentReplyText(output: Pick<AgentOutput, 'message'>): string {
  return output.message.content
    .map((part) => part.text)
    .filter((text): text is string => text !== undefined)
    .join('\n');
}

/**
 * The reply's text without what the receipts shown beside it already say (the chat's receipt chip
 * and the demo's receipt lines link to the explorer): a receipt's explorer URL is removed, and so is
 * a line that only labelled its URL or transaction hash; a hash left inside a sentence is shortened.
 *
 * @example
 * textWithoutReceiptUrls('Paid.\n- Transaction: 0xab…\n  https://x/tx/0xab…', [receipt]); // 'Paid.'
 */
export function textWithoutReceiptUrls(
  text: string,
  receipts: readonly Pick<AgentPaymentReceipt, 'explorer_url' | 'transaction_hash'>[],
): string {
  if (receipts.length === 0) return text;
  // Longest first: a URL contains its hash.
  const needles = receipts
    .flatMap((r) => [r.explorer_url, r.transaction_hash])
    .filter((n): n is string => !!n)
    .sort((a, b) => b.length - a.length);
  return text
    .split('\n')
    .flatMap((line) => {
      let out = line;
      for (const needle of needles) {
        const short = TX_HASH.test(needle) ? `${needle.slice(0, 10)}…${needle.slice(-8)}` : '';
        out = out.split(needle).join(short);
      }
      if (out === line) return [line];
      let bare = line;
      for (const needle of needles) bare = bare.split(needle).join('');
      // Nothing but a label ("- Transaction:", "  ", "(explorer)") was around the URL or hash.
      if (/^[\s\p{P}]*[\p{L} ]{0,24}[\s\p{P}]*$/u.test(bare)) return [];
      return [out.trimEnd()];
    })
    .join('\n');
}
