import type { AgentOutput } from '@agentic-payments/x402';
import { z } from 'zod';

/** API Gateway WebSocket frames are at most 32 KiB; a client message must fit in one frame. */
export const MAX_FRAME_BYTES = 32 * 1024;
export const MAX_PROMPT_CHARS = 1024;

/** Session ids become S3 key prefixes and AgentCore session ids, so their alphabet is kept small. */
export const SessionId = z
  .string()
  .min(1)
  .max(128)
  .regex(/^[A-Za-z0-9._:-]+$/, 'session_id may contain only letters, digits, ".", "_", ":" and "-"');

/** Client → server: the agent route's message, as in the seed (`{"input":{"prompt"},"session_id"}`). */
export const ClientMessage = z.strictObject({
  input: z.strictObject({
    prompt: z
      .string()
      .max(MAX_PROMPT_CHARS, `prompt must be at most ${MAX_PROMPT_CHARS} characters`)
      .refine((p) => p.trim().length > 0, 'prompt must not be empty'),
  }),
  session_id: SessionId,
  // The seed's frontend also sends an `action` routing key; accept it so an unchanged client works.
  action: z.string().max(64).optional(),
});
export type ClientMessage = z.infer<typeof ClientMessage>;

// The agent's output (and its receipts and wallet snapshot) is one shared contract, parsed here where
// the agent's reply arrives; unknown extra fields are forwarded untouched.
export {
  AgentInvocationResponse as AgentResponse,
  AgentOutput,
  AgentPaymentReceipt as PaymentReceipt,
  AgentWalletSnapshot as WalletSnapshot,
} from '@agentic-payments/x402';

/** Stable error codes sent to the browser in `{"type":"error","code","message"}`. */
export const ERROR_CODES = [
  'binary_not_supported',
  'frame_too_large',
  'invalid_json',
  'invalid_message',
  'prompt_too_long',
  'connection_not_registered',
  'agent_unavailable',
  'agent_timeout',
  'agent_error',
  'agent_invalid_response',
  'image_upload_failed',
  'internal_error',
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

export type ServerMessage =
  | { type: 'processing'; sessionId: string }
  | { type: 'progress'; sessionId: string; elapsedMs: number }
  | { type: 'complete'; sessionId: string; response: { output: AgentOutput } }
  | { type: 'error'; code: ErrorCode; message: string; sessionId?: string };
