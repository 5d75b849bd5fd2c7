import type { AgentOutput } from '@agentic-payments/x402';
import { z } from 'zod';
import { RealtimeError } from './realtime-error.ts';

/**
 * API Gateway WebSocket limits (no increase possible): a frame is at most 32 KiB and a message at
 * most 128 KiB; a larger inbound frame or message closes the connection with 1009, and
 * PostToConnection refuses more than 128 KiB (PayloadTooLargeException).
 * https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-execution-service-websocket-limits-table.html
 * A client message must fit in one frame.
 */
export const MAX_FRAME_BYTES = 32 * 1024;
export const MAX_MESSAGE_BYTES = 128 * 1024;
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
  'turn_in_progress',
  'agent_unavailable',
  'agent_timeout',
  'agent_error',
  'agent_invalid_response',
  'image_upload_failed',
  'response_too_large',
  'internal_error',
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

export type ServerMessage =
  | { type: 'processing'; sessionId: string }
  | { type: 'progress'; sessionId: string; elapsedMs: number }
  | { type: 'complete'; sessionId: string; response: { output: AgentOutput } }
  | { type: 'error'; code: ErrorCode; message: string; sessionId?: string };

/** Serialises a server frame; throws `response_too_large` rather than exceed PostToConnection's 128 KiB. */
export function encodeServerMessage(message: ServerMessage): Uint8Array {
  const data = new TextEncoder().encode(JSON.stringify(message));
  if (data.byteLength > MAX_MESSAGE_BYTES) {
    throw new RealtimeError(
      'response_too_large',
      `The answer (${Math.ceil(data.byteLength / 1024)} KiB) is larger than a WebSocket message may be (${MAX_MESSAGE_BYTES / 1024} KiB).`,
    );
  }
  return data;
}
