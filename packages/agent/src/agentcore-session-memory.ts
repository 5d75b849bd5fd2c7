import {
  type BedrockAgentCoreClient,
  CreateEventCommand,
  type Event,
  ListEventsCommand,
} from '@aws-sdk/client-bedrock-agentcore';
import type { SessionMemory } from './session-memory.ts';
import { SessionRecord } from './session-state.ts';

export interface AgentCoreSessionMemoryOptions {
  client: BedrockAgentCoreClient;
  memoryId: string;
  /** AgentCore Memory scopes events by actor; the agent is one actor per deployment. */
  actorId?: string;
}

/**
 * Session memory on Amazon Bedrock AgentCore Memory (short-term events). Each save appends one
 * event whose blob payload is the session snapshot (CreateEvent); load reads the newest (ListEvents).
 * Append-only, so a crash between saves loses at most the turn in flight.
 */
export class AgentCoreSessionMemory implements SessionMemory {
  readonly kind = 'agentcore';
  private readonly actorId: string;
  constructor(private readonly options: AgentCoreSessionMemoryOptions) {
    this.actorId = options.actorId ?? 'x402-image-agent';
  }

  async load(sessionId: string): Promise<SessionRecord | undefined> {
    let newest: Event | undefined;
    let nextToken: string | undefined;
    do {
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
        if (!newest || (event.eventTimestamp?.getTime() ?? 0) >= (newest.eventTimestamp?.getTime() ?? 0)) {
          newest = event;
        }
      }
      nextToken = page.nextToken;
    } while (nextToken);
    const blob = newest?.payload?.find((p) => p.blob !== undefined)?.blob;
    if (typeof blob !== 'string') return undefined;
    const parsed = SessionRecord.safeParse(JSON.parse(blob));
    if (!parsed.success)
      throw new Error(`corrupt AgentCore Memory snapshot for ${sessionId}: ${parsed.error.message}`);
    return parsed.data;
  }

  async save(record: SessionRecord): Promise<void> {
    await this.options.client.send(
      new CreateEventCommand({
        memoryId: this.options.memoryId,
        actorId: this.actorId,
        sessionId: record.session_id,
        eventTimestamp: new Date(record.updated_at),
        payload: [{ blob: JSON.stringify(record) }],
      }),
    );
  }
}
