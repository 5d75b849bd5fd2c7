import type { AgentOutput } from '../messages.ts';
import type { AgentInvoker } from '../ports.ts';
import { RealtimeError } from '../realtime-error.ts';
import { runtimeSessionIdFor } from '../runtime-session-id.ts';
import { parseAgentReply } from './parse-agent-reply.ts';

/** The header AgentCore Runtime uses to hand the session id to the container. */
export const RUNTIME_SESSION_HEADER = 'X-Amzn-Bedrock-AgentCore-Runtime-Session-Id';

/**
 * The local agent invoker: HTTP POST `<agentUrl>/invocations`, the same request AgentCore Runtime
 * forwards to the container in the cloud (body plus the runtime session header).
 */
export function createHttpAgentInvoker(options: {
  agentUrl: string;
  fetch?: typeof globalThis.fetch;
}): AgentInvoker {
  const doFetch = options.fetch ?? globalThis.fetch;
  const endpoint = new URL(
    'invocations',
    options.agentUrl.endsWith('/') ? options.agentUrl : `${options.agentUrl}/`,
  );
  return {
    async invoke({ prompt, sessionId, signal }): Promise<AgentOutput> {
      let response: Response;
      let text: string;
      try {
        response = await doFetch(endpoint, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            accept: 'application/json',
            [RUNTIME_SESSION_HEADER]: runtimeSessionIdFor(sessionId),
          },
          body: JSON.stringify({ input: { prompt }, session_id: sessionId }),
          signal,
        });
        text = await response.text();
      } catch (error) {
        throw translateFetchError(error);
      }
      return parseAgentReply(response.status, text);
    },
  };
}

function translateFetchError(error: unknown): RealtimeError {
  const name = error instanceof Error ? error.name : '';
  if (name === 'TimeoutError' || name === 'AbortError') {
    return new RealtimeError(
      'agent_timeout',
      'The agent did not answer in time. A payment may still complete: check your wallet before retrying.',
      { cause: error },
    );
  }
  return new RealtimeError('agent_unavailable', 'The agent is not reachable right now; try again shortly.', {
    cause: error,
  });
}
