// The WebSocket wire contract (DESIGN.md): client → `{"input":{"prompt"},"session_id"}`, server →
// `{"type":"processing"|"progress"|"complete"|"error", ...}`. Frames are checked, not trusted: the
// `complete` frame's `response.output` is parsed with the agent's one output schema (shared with the
// agent and the realtime handlers), then turned into what the page shows.
import {
  type AgentOutput,
  type AgentPaymentReceipt,
  agentReplyText,
  CompleteFrame,
  textWithoutReceiptUrls,
} from '@agentic-payments/x402/agent-output';

export interface PaymentReceipt {
  /**
   * Absent: an exact payment. A payment session's deposit, image charge (voucher) or refund, or the
   * seller's claim or settle transaction on the session's channel (amount 0: nothing left the wallet).
   */
  kind?: 'deposit' | 'voucher' | 'refund' | 'claim' | 'settle';
  /** Every receipt has one but a voucher's (an image charge signed off chain, claimed later in a batch). */
  transactionHash?: string;
  amount: string;
  /** The protocol's network id (`base-sepolia`), for the explorer fallback. */
  network: string;
  /** What a person reads ("Local devnet — Base Sepolia stand-in (chain 84532)"). */
  networkName: string;
  explorerUrl?: string;
  imageId?: string;
}

export interface WalletSnapshot {
  address: string;
  network: string;
  networkName: string;
  chainId?: number;
  eth?: string;
  usdc?: string;
  /** The wallet's rolling 24-hour cap and what all sessions spent of it (decimal USDC). */
  budget24h?: string;
  spent24h?: string;
}

/** A payment session's channel balance (decimal USDC): what was deposited, charged, refunded and is left. */
export interface ChannelBalance {
  status: 'open' | 'closed';
  deposited: string;
  charged: string;
  refunded: string;
  remaining: string;
}

/** The session's receipts and spend against its budget, as of this turn. */
export interface SessionSpend {
  payments: PaymentReceipt[];
  paymentCount: number;
  spent: string;
  budget: string;
  paymentScheme?: 'exact' | 'batch-settlement';
  channel?: ChannelBalance;
}

export interface AgentTurn {
  /** The reply's text, without the explorer links of the receipts shown beside it. */
  text: string;
  images: { id: string; url: string }[];
  /** Receipts of this turn: one chip each. */
  payments: PaymentReceipt[];
  wallet?: WalletSnapshot;
  session?: SessionSpend;
  model?: string;
}

export type ServerFrame =
  | { type: 'processing'; sessionId?: string }
  | { type: 'progress'; sessionId?: string; elapsedMs?: number }
  | { type: 'complete'; sessionId?: string; turn: AgentTurn }
  | { type: 'error'; code: string; message: string; sessionId?: string };

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

/** Only http(s) URLs become links or image sources; anything else (javascript:, data:) is dropped. */
export function safeUrl(value: unknown): string | undefined {
  const text = str(value);
  if (!text) return undefined;
  try {
    const url = new URL(text);
    return url.protocol === 'http:' || url.protocol === 'https:' ? url.toString() : undefined;
  } catch {
    return undefined;
  }
}

function toReceipt(p: AgentPaymentReceipt): PaymentReceipt {
  return {
    ...(p.kind ? { kind: p.kind } : {}),
    ...(p.transaction_hash ? { transactionHash: p.transaction_hash } : {}),
    amount: p.amount,
    network: p.network,
    networkName: p.network_name ?? p.network,
    explorerUrl: safeUrl(p.explorer_url),
    imageId: p.image_id,
  };
}

function toTurn(output: AgentOutput): AgentTurn {
  const payments = (output.payments ?? []).map(toReceipt);
  const images = Object.entries(output.images ?? {}).flatMap(([id, url]) => {
    const safe = safeUrl(url);
    return safe ? [{ id, url: safe }] : [];
  });
  const w = output.wallet;
  const wallet = w
    ? {
        address: w.address,
        network: w.network,
        networkName: w.network_name ?? w.network,
        chainId: w.chain_id,
        eth: w.eth,
        usdc: w.usdc,
        ...(w.budget_24h ? { budget24h: w.budget_24h, spent24h: w.spent_24h } : {}),
      }
    : undefined;
  const session = output.session
    ? {
        payments: output.session.payments.map(toReceipt),
        paymentCount: output.session.payment_count,
        spent: output.session.spent,
        budget: output.session.budget,
        ...(output.session.payment_scheme ? { paymentScheme: output.session.payment_scheme } : {}),
        ...(output.session.channel
          ? {
              channel: {
                status: output.session.channel.status,
                deposited: output.session.channel.deposited,
                charged: output.session.channel.charged,
                refunded: output.session.channel.refunded,
                remaining: output.session.channel.remaining,
              },
            }
          : {}),
      }
    : undefined;
  return {
    text: textWithoutReceiptUrls(agentReplyText(output), output.payments ?? []),
    images,
    payments,
    wallet,
    session,
    model: output.model,
  };
}

/** Parses one server frame; undefined for anything that is not part of the contract. */
export function parseServerFrame(data: unknown): ServerFrame | undefined {
  if (typeof data !== 'string') return undefined;
  let json: unknown;
  try {
    json = JSON.parse(data);
  } catch {
    return undefined;
  }
  if (!isObject(json)) return undefined;
  const sessionId = str(json.sessionId);
  switch (json.type) {
    case 'processing':
      return { type: 'processing', sessionId };
    case 'progress':
      return {
        type: 'progress',
        sessionId,
        elapsedMs: typeof json.elapsedMs === 'number' ? json.elapsedMs : undefined,
      };
    case 'complete': {
      const frame = CompleteFrame.safeParse(json);
      if (!frame.success) {
        return {
          type: 'error',
          code: 'invalid_response',
          message:
            "The agent's reply could not be read (it does not match the reply contract). A payment may have been made: ask for your wallet details.",
          sessionId,
        };
      }
      return { type: 'complete', sessionId, turn: toTurn(frame.data.response.output) };
    }
    case 'error':
      return {
        type: 'error',
        code: str(json.code) ?? 'unknown_error',
        message: str(json.message) ?? 'Something went wrong.',
        sessionId,
      };
    default:
      // API Gateway's own failure frame: {"message":"Internal server error","connectionId",...}
      if (str(json.message))
        return { type: 'error', code: 'gateway_error', message: str(json.message) ?? '' };
      return undefined;
  }
}

/** Where a transaction can be seen: the receipt's explorer URL, else the configured explorer. */
export function explorerLink(receipt: PaymentReceipt, explorerUrl: string | undefined): string | undefined {
  if (receipt.explorerUrl) return receipt.explorerUrl;
  if (!receipt.transactionHash) return undefined;
  const base =
    explorerUrl ??
    (receipt.network === 'base-sepolia' || receipt.network === 'eip155:84532'
      ? 'https://sepolia.basescan.org'
      : receipt.network === 'base' || receipt.network === 'eip155:8453'
        ? 'https://basescan.org'
        : undefined);
  return base ? `${base.replace(/\/+$/, '')}/tx/${receipt.transactionHash}` : undefined;
}

/**
 * What "New Session" sends to the session it leaves when that session's payment channel still holds
 * money: the agent's end_session tool asks the seller to refund it (the refund only returns money to
 * the wallet). The WebSocket contract carries prompts only, so ending is a prompt.
 */
export const END_SESSION_PROMPT = 'End this session and refund what it did not spend.';

/** A key for a receipt in a list: its transaction, or (a voucher) its kind, image and position. */
export function receiptKey(receipt: PaymentReceipt, index: number): string {
  return receipt.transactionHash ?? `${receipt.kind ?? 'payment'}-${receipt.imageId ?? ''}-${index}`;
}

export function newSessionId(): string {
  return `session-${crypto.randomUUID()}`;
}
