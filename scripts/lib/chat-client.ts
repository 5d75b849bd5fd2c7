import { type AgentOutput, agentReplyText, CompleteFrame } from '@agentic-payments/x402';
import WebSocket from 'ws';
import { z } from 'zod';

// The `complete` frame carries the agent's output: the one shared schema, parsed where it arrives.
const ServerMessage = z.discriminatedUnion('type', [
  z.looseObject({ type: z.literal('processing') }),
  z.looseObject({ type: z.literal('progress') }),
  CompleteFrame,
  z.looseObject({ type: z.literal('error'), code: z.string().optional(), message: z.string() }),
]);

/** The seed README's example conversation, plus the analysis step its tools offer. */
export const DEMO_CONVERSATION = [
  'What can you help me with?',
  'What are my wallet details?',
  'Generate an image of a futuristic city at sunset',
  'Analyze the image for content monetization',
] as const;

/**
 * The same conversation in a payment session (PAYMENT_SCHEME=batch-settlement): the first image
 * deposits the session budget, the second is a voucher only, and ending the session refunds the rest.
 */
export const DEMO_SESSION_CONVERSATION = [
  'What can you help me with?',
  'What are my wallet details?',
  'Generate an image of a futuristic city at sunset',
  'Generate an image of a lighthouse in a storm',
  'Analyze the image for content monetization',
  'End this session and refund what it did not spend.',
] as const;

export class ChatError extends Error {
  override name = 'ChatError';
}

/**
 * A minimal client of the WebSocket API, the way the chat page talks to it: one prompt in,
 * `processing` / `progress` frames, then `complete` (or `error`).
 */
export class ChatClient {
  private constructor(private readonly socket: WebSocket) {}

  static connect(url: string, timeoutMs = 10_000): Promise<ChatClient> {
    return new Promise((resolve, reject) => {
      const socket = new WebSocket(url);
      const timer = setTimeout(() => {
        socket.terminate();
        reject(new ChatError(`no WebSocket connection to ${url} within ${timeoutMs} ms`));
      }, timeoutMs);
      socket.once('open', () => {
        clearTimeout(timer);
        resolve(new ChatClient(socket));
      });
      socket.once('error', (error) => {
        clearTimeout(timer);
        reject(new ChatError(`cannot connect to ${url}: ${error.message} (is "npm start" running?)`));
      });
    });
  }

  /** Sends one prompt and resolves with the agent's output when the turn completes. */
  ask(sessionId: string, prompt: string, timeoutMs = 120_000): Promise<AgentOutput> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => finish(new ChatError(`no answer within ${timeoutMs} ms`)), timeoutMs);
      const onMessage = (data: WebSocket.RawData) => {
        const parsed = ServerMessage.safeParse(JSON.parse(data.toString()));
        if (!parsed.success)
          return finish(new ChatError(`unexpected frame: ${data.toString().slice(0, 200)}`));
        const message = parsed.data;
        if (message.type === 'complete') finish(undefined, message.response.output);
        else if (message.type === 'error')
          finish(new ChatError(`${message.code ?? 'error'}: ${message.message}`));
      };
      const onClose = () => finish(new ChatError('the WebSocket closed before the turn completed'));
      const finish = (error?: Error, output?: AgentOutput) => {
        clearTimeout(timer);
        this.socket.off('message', onMessage);
        this.socket.off('close', onClose);
        if (error) reject(error);
        else resolve(output as AgentOutput);
      };
      this.socket.on('message', onMessage);
      this.socket.on('close', onClose);
      this.socket.send(JSON.stringify({ input: { prompt }, session_id: sessionId }));
    });
  }

  close(): void {
    this.socket.close();
  }
}

export function replyText(output: AgentOutput): string {
  return agentReplyText(output);
}
