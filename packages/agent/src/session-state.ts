import { z } from 'zod';

const AtomicAmount = z.string().regex(/^\d+$/, 'atomic USDC amount');

/** The image request the session is working on: the server's quote and whether the user authorized it. */
export const CurrentRequest = z.object({
  request_id: z.string(),
  prompt: z.string(),
  size: z.enum(['1024x1024', '2048x2048']),
  quality: z.enum(['standard', 'premium']),
  /** The seller's quoted price in atomic USDC: the ceiling the signer will sign for this request. */
  amount: AtomicAmount,
  pay_to: z.string(),
  asset: z.string(),
  network: z.string(),
  authorized: z.boolean(),
  /** Turn number in which the estimate was shown; confirm mode needs a later user "yes". */
  estimated_turn: z.number().int(),
});
export type CurrentRequest = z.infer<typeof CurrentRequest>;

export const StoredImage = z.object({
  id: z.string(),
  request_id: z.string(),
  prompt: z.string(),
  mime_type: z.string(),
  data_url: z.string().optional(),
  url: z.string().optional(),
  created_at: z.string(),
  transaction_hash: z.string().optional(),
});
export type StoredImage = z.infer<typeof StoredImage>;

/** An exact payment's receipt as the chat page shows it (docs/CONVENTIONS.md: `output.payments`). */
export const ExactReceipt = z.object({
  transaction_hash: z.string(),
  amount: z.string(),
  atomic_amount: AtomicAmount,
  network: z.string(),
  explorer_url: z.string(),
  image_id: z.string(),
  request_id: z.string(),
  paid_at: z.string(),
});

const Bytes32 = z.templateLiteral(['0x', z.string().regex(/^[0-9a-fA-F]{64}$/, 'bytes32 hex')]);

/**
 * A batch-settlement session's receipts: the deposit (its own transaction), each image's charge (a
 * voucher: no transaction of its own, the seller claims it later in a batch), the refund (its
 * transaction), and the seller's claim and settle transactions on the channel (amount 0: they move
 * nothing from the wallet; see `syncChannelTransactions`). `cumulative_atomic` is the channel's charged total after a voucher.
 */
export const ChannelReceipt = z.object({
  kind: z.enum(['deposit', 'voucher', 'refund', 'claim', 'settle']),
  transaction_hash: z.string().optional(),
  amount: z.string(),
  atomic_amount: AtomicAmount,
  network: z.string(),
  explorer_url: z.string().optional(),
  image_id: z.string().optional(),
  request_id: z.string().optional(),
  channel_id: Bytes32,
  cumulative_atomic: AtomicAmount.optional(),
  paid_at: z.string(),
});
export type ChannelReceipt = z.infer<typeof ChannelReceipt>;

// The channel receipt first: it is told apart by `kind`, which an exact receipt never has.
export const PaymentReceipt = z.union([ChannelReceipt, ExactReceipt]);
export type PaymentReceipt = z.infer<typeof PaymentReceipt>;

/**
 * A deposit into the session's channel: `signed` from the moment its authorization is signed (the
 * wallet budget holds its reservation) until the seller's 200 shows it on chain (`confirmed`); a
 * deposit proven never sent or rejected before settlement is removed, with its reservation.
 */
export const ChannelDeposit = z.object({
  reservation_id: z.string(),
  amount: AtomicAmount,
  state: z.enum(['signed', 'confirmed']),
  transaction_hash: z.string().optional(),
});
export type ChannelDeposit = z.infer<typeof ChannelDeposit>;

/**
 * The session's payment channel (PAYMENT_SCHEME=batch-settlement). The channel id is fixed by the
 * session (its salt is derived from the session id), so the channel is this session's alone. The
 * session's `spent` is what the channel charged for delivered images.
 */
export const SessionChannel = z.object({
  scheme: z.literal('batch-settlement'),
  channel_id: Bytes32,
  salt: Bytes32,
  status: z.enum(['open', 'closed']),
  deposits: z.array(ChannelDeposit),
  /** Highest cumulative voucher ceiling signed (atomic). */
  signed_max: AtomicAmount,
  /** Refunded to the wallet so far (atomic). */
  refunded: AtomicAmount,
  /** The official client's channel record (`@x402/evm` BatchSettlementClientContext), kept here. */
  client: z
    .object({
      chargedCumulativeAmount: z.string().optional(),
      balance: z.string().optional(),
      totalClaimed: z.string().optional(),
      signedMaxClaimable: z.string().optional(),
      signature: z.templateLiteral(['0x', z.string()]).optional(),
    })
    .optional(),
  opened_at: z.string(),
  closed_at: z.string().optional(),
});
export type SessionChannel = z.infer<typeof SessionChannel>;

/** Everything a session remembers across turns and restarts. Nothing here is shared with another session. */
export const SessionRecord = z.object({
  version: z.literal(1),
  session_id: z.string(),
  turn: z.number().int().nonnegative(),
  /** Strands MessageData[], kept opaque here and validated by the SDK when the agent is rebuilt. */
  messages: z.array(z.record(z.string(), z.unknown())),
  current_request: CurrentRequest.nullable(),
  images: z.record(z.string(), StoredImage),
  payments: z.array(PaymentReceipt),
  /** Atomic USDC paid in this session, counted against SESSION_BUDGET_USDC. */
  spent: AtomicAmount,
  /** The session's payment channel, once a batch-settlement purchase opened it. */
  channel: SessionChannel.optional(),
  updated_at: z.string(),
});
export type SessionRecord = z.infer<typeof SessionRecord>;

export function emptySession(sessionId: string, now: Date): SessionRecord {
  return {
    version: 1,
    session_id: sessionId,
    turn: 0,
    messages: [],
    current_request: null,
    images: {},
    payments: [],
    spent: '0',
    updated_at: now.toISOString(),
  };
}
