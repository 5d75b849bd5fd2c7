import { z } from 'zod';
import { type AgentOutput, AgentResponse } from '../messages.ts';
import { RealtimeError } from '../realtime-error.ts';

const AgentErrorBody = z.looseObject({
  error: z.string().optional(),
  message: z.string().max(500).optional(),
});

/** Turns the agent's HTTP status + body into its output, or a RealtimeError the browser may see. */
export function parseAgentReply(status: number, text: string): AgentOutput {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  if (status < 200 || status >= 300) {
    const body = AgentErrorBody.safeParse(json);
    const detail = body.success ? (body.data.message ?? body.data.error) : undefined;
    if (status === 429 || status === 503) {
      throw new RealtimeError('agent_unavailable', 'The agent is busy; try again shortly.');
    }
    throw new RealtimeError(
      'agent_error',
      detail ? `The agent refused the request: ${detail}` : `The agent failed to answer (HTTP ${status}).`,
    );
  }
  const parsed = AgentResponse.safeParse(json);
  if (!parsed.success) {
    throw new RealtimeError(
      'agent_invalid_response',
      'The agent answered with something that is not a reply.',
      {
        cause: parsed.error,
      },
    );
  }
  return parsed.data.output;
}
