import { createHash } from 'node:crypto';

/**
 * AgentCore's InvokeAgentRuntime requires a runtimeSessionId of 33..256 characters; chat session ids
 * are usually shorter. Derive one deterministically so every turn of a chat session lands in the same
 * runtime session (and its memory), while different chat sessions never share one.
 *
 * @example runtimeSessionIdFor('test-session') // 'chat-session-<64 hex chars>' (77 characters)
 */
export function runtimeSessionIdFor(sessionId: string): string {
  const digest = createHash('sha256').update(sessionId, 'utf8').digest('hex');
  return `chat-session-${digest}`;
}
