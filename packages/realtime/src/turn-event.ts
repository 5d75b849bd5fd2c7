import { z } from 'zod';
import { MAX_PROMPT_CHARS, SessionId } from './messages.ts';

/**
 * What `$default` hands to the turn worker (an asynchronous Lambda invoke): one accepted chat turn
 * and where to send its frames. Parsed again by the worker, since it arrives as an outside event.
 */
export const TurnEvent = z.strictObject({
  kind: z.literal('agent_turn'),
  turnId: z.uuid(),
  sessionId: SessionId,
  prompt: z.string().min(1).max(MAX_PROMPT_CHARS),
  connection: z.strictObject({
    connectionId: z.string().min(1).max(128),
    domainName: z.string().min(1),
    stage: z.string().min(1),
  }),
  /** When `$default` accepted the turn (epoch ms); progress frames count from here. */
  acceptedAt: z.number().int().nonnegative(),
});
export type TurnEvent = z.infer<typeof TurnEvent>;
