import type { SessionRecord } from './session-state.ts';

/** Port: durable per-session memory. The file adapter is the embedded default; AgentCore Memory in the cloud. */
export interface SessionMemory {
  readonly kind: string;
  load(sessionId: string): Promise<SessionRecord | undefined>;
  save(record: SessionRecord): Promise<void>;
}
