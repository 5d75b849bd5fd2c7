import { type BedrockAgentCoreClient, InvokeAgentRuntimeCommand } from '@aws-sdk/client-bedrock-agentcore';
import type { AgentOutput } from '../messages.ts';
import type { AgentInvoker } from '../ports.ts';
import { RealtimeError } from '../realtime-error.ts';
import { runtimeSessionIdFor } from '../runtime-session-id.ts';
import { parseAgentReply } from './parse-agent-reply.ts';

/**
 * The cloud agent invoker: `InvokeAgentRuntime` with a runtime session id derived from the chat
 * session (AgentCore requires 33..256 characters).
 */
export function createAgentCoreInvoker(options: {
  client: BedrockAgentCoreClient;
  agentRuntimeArn: string;
  qualifier?: string | undefined;
}): AgentInvoker {
  return {
    async invoke({ prompt, sessionId, signal }): Promise<AgentOutput> {
      const command = new InvokeAgentRuntimeCommand({
        agentRuntimeArn: options.agentRuntimeArn,
        qualifier: options.qualifier,
        runtimeSessionId: runtimeSessionIdFor(sessionId),
        contentType: 'application/json',
        accept: 'application/json',
        payload: new TextEncoder().encode(JSON.stringify({ input: { prompt }, session_id: sessionId })),
      });
      let text: string;
      let status: number;
      try {
        const response = await options.client.send(command, { abortSignal: signal });
        status = response.statusCode ?? 200;
        text = (await response.response?.transformToString('utf-8')) ?? '';
      } catch (error) {
        throw translateAgentCoreError(error);
      }
      return parseAgentReply(status, text);
    },
  };
}

function translateAgentCoreError(error: unknown): RealtimeError {
  const name = error instanceof Error ? error.name : '';
  if (name === 'TimeoutError' || name === 'AbortError') {
    return new RealtimeError(
      'agent_timeout',
      'The agent did not answer in time. A payment may still complete: check your wallet before retrying.',
      { cause: error },
    );
  }
  if (name === 'ThrottlingException' || name === 'ServiceQuotaExceededException') {
    return new RealtimeError('agent_unavailable', 'The agent is busy; try again shortly.', { cause: error });
  }
  if (name === 'RuntimeClientError' || name === 'ValidationException') {
    return new RealtimeError('agent_error', 'The agent rejected the request.', { cause: error });
  }
  return new RealtimeError('agent_unavailable', 'The agent is not reachable right now; try again shortly.', {
    cause: error,
  });
}
