import {
  type BedrockAgentCoreClient,
  CreateEventCommand,
  DeleteEventCommand,
  ListEventsCommand,
} from '@aws-sdk/client-bedrock-agentcore';
import { persistedRecord, type SessionMemory } from './session-memory.ts';
import { SessionRecord } from './session-state.ts';

export interface AgentCoreSessionMemoryOptions {
  client: BedrockAgentCoreClient;
  memoryId: string;
  /** AgentCore Memory scopes events by actor; the agent is one actor per deployment. */
  actorId?: string;
  /** Where failed clean-ups are reported (they never fail a turn). */
  log?: (entry: Record<string, unknown>) => void;
}

/**
 * Session memory on Amazon Bedrock AgentCore Memory (short-term events). A session is one snapshot
 * event: each save appends the new snapshot (CreateEvent, its blob the record without image bytes)
 * and then deletes the snapshots it replaces (DeleteEvent), so loading reads one ListEvents page of
 * one or two events, however long the session has run, and never depends on the order ListEvents
 * returns events in. A crash between the append and the deletes leaves two snapshots; load takes
 * the newer (higher turn, then later timestamp) and the next save deletes the other.
 */
export class AgentCoreSessionMemory implements SessionMemory {
  readonly kind = 'agentcore';
  private readonly actorId: string;
  /** Event ids of each session's snapshots that the next save replaces (turns of a session are serialized). */
  private readonly superseded = new Map<string, Set<string>>();

  constructor(private readonly options: AgentCoreSessionMemoryOptions) {
    this.actorId = options.actorId ?? 'x402-image-agent';
  }

  async load(sessionId: string): Promise<SessionRecord | undefined> {
    let newest: { record: SessionRecord; at: number } | undefined;
    const ids = new Set<string>();
    let nextToken: string | undefined;
    do {
      // One page in practice (save keeps one snapshot per session); sessions written before this
      // scheme are paged through once and collapsed by the next save.
      const page = await this.options.client.send(
        new ListEventsCommand({
          memoryId: this.options.memoryId,
          actorId: this.actorId,
          sessionId,
          includePayloads: true,
          maxResults: 100,
          nextToken,
        }),
      );
      for (const event of page.events ?? []) {
        if (event.eventId) ids.add(event.eventId);
        const blob = event.payload?.find((p) => p.blob !== undefined)?.blob;
        if (typeof blob !== 'string') continue;
        const parsed = SessionRecord.safeParse(JSON.parse(blob));
        if (!parsed.success) {
          throw new Error(`corrupt AgentCore Memory snapshot for ${sessionId}: ${parsed.error.message}`);
        }
        const at = event.eventTimestamp?.getTime() ?? 0;
        if (
          !newest ||
          parsed.data.turn > newest.record.turn ||
          (parsed.data.turn === newest.record.turn && at >= newest.at)
        ) {
          newest = { record: parsed.data, at };
        }
      }
      nextToken = page.nextToken;
    } while (nextToken);
    this.superseded.set(sessionId, ids);
    return newest?.record;
  }

  async save(record: SessionRecord): Promise<void> {
    const created = await this.options.client.send(
      new CreateEventCommand({
        memoryId: this.options.memoryId,
        actorId: this.actorId,
        sessionId: record.session_id,
        eventTimestamp: new Date(record.updated_at),
        payload: [{ blob: JSON.stringify(persistedRecord(record)) }],
      }),
    );
    const previous = this.superseded.get(record.session_id) ?? new Set<string>();
    const kept = new Set<string>(created.event?.eventId ? [created.event.eventId] : []);
    this.superseded.set(record.session_id, kept);
    for (const eventId of previous) {
      if (kept.has(eventId)) continue;
      try {
        await this.options.client.send(
          new DeleteEventCommand({
            memoryId: this.options.memoryId,
            actorId: this.actorId,
            sessionId: record.session_id,
            eventId,
          }),
        );
      } catch (error) {
        if (error instanceof Error && error.name === 'ResourceNotFoundException') continue;
        // The new snapshot is saved; an old one left behind is only read past and retried next save.
        kept.add(eventId);
        this.options.log?.({
          level: 'warn',
          event: 'memory_cleanup_failed',
          session_id: record.session_id,
          error: error instanceof Error ? error.name : String(error),
        });
      }
    }
  }
}
