// The WebSocket wire contract (DESIGN.md): client → `{"input":{"prompt"},"session_id"}`, server →
// `{"type":"processing"|"progress"|"complete"|"error", ...}`. Frames are checked, not trusted.

export interface PaymentReceipt {
  transactionHash: string;
  amount: string;
  network: string;
  explorerUrl?: string;
  imageId?: string;
}

export interface WalletSnapshot {
  address: string;
  network: string;
  chainId?: number;
  eth?: string;
  usdc?: string;
  /** The wallet's rolling 24-hour cap and what all sessions spent of it (decimal USDC). */
  budget24h?: string;
  spent24h?: string;
}

export interface AgentTurn {
  text: string;
  images: { id: string; url: string }[];
  payments: PaymentReceipt[];
  wallet?: WalletSnapshot;
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

function parseTurn(output: Json): AgentTurn {
  const message = isObject(output.message) ? output.message : {};
  const content = Array.isArray(message.content) ? message.content : [];
  const text = content
    .map((part) => (isObject(part) ? str(part.text) : undefined))
    .filter((t): t is string => t !== undefined)
    .join('\n');
  const images = isObject(output.images)
    ? Object.entries(output.images).flatMap(([id, url]) => {
        const safe = safeUrl(url);
        return safe ? [{ id, url: safe }] : [];
      })
    : [];
  const payments = Array.isArray(output.payments)
    ? output.payments.flatMap((p): PaymentReceipt[] => {
        if (!isObject(p)) return [];
        const transactionHash = str(p.transaction_hash);
        if (!transactionHash || !/^0x[0-9a-fA-F]{64}$/.test(transactionHash)) return [];
        return [
          {
            transactionHash,
            amount: str(p.amount) ?? '?',
            network: str(p.network) ?? '',
            explorerUrl: safeUrl(p.explorer_url),
            imageId: str(p.image_id),
          },
        ];
      })
    : [];
  const w = output.wallet;
  const wallet =
    isObject(w) && str(w.address)
      ? {
          address: str(w.address) ?? '',
          network: str(w.network) ?? '',
          chainId: typeof w.chain_id === 'number' ? w.chain_id : undefined,
          eth: str(w.eth),
          usdc: str(w.usdc),
          ...(str(w.budget_24h) ? { budget24h: str(w.budget_24h), spent24h: str(w.spent_24h) } : {}),
        }
      : undefined;
  return { text, images, payments, wallet, model: str(output.model) };
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
      const response = isObject(json.response) ? json.response : {};
      return {
        type: 'complete',
        sessionId,
        turn: parseTurn(isObject(response.output) ? response.output : {}),
      };
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
  const base =
    explorerUrl ??
    (receipt.network === 'base-sepolia' || receipt.network === 'eip155:84532'
      ? 'https://sepolia.basescan.org'
      : receipt.network === 'base' || receipt.network === 'eip155:8453'
        ? 'https://basescan.org'
        : undefined);
  return base ? `${base.replace(/\/+$/, '')}/tx/${receipt.transactionHash}` : undefined;
}

export function newSessionId(): string {
  return `session-${crypto.randomUUID()}`;
}
