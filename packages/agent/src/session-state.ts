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

/** A receipt as the chat page shows it (docs/CONVENTIONS.md: `output.payments`). */
export const PaymentReceipt = z.object({
  transaction_hash: z.string(),
  amount: z.string(),
  atomic_amount: AtomicAmount,
  network: z.string(),
  explorer_url: z.string(),
  image_id: z.string(),
  request_id: z.string(),
  paid_at: z.string(),
});
export type PaymentReceipt = z.infer<typeof PaymentReceipt>;

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
