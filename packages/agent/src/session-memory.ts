import type { SessionRecord, StoredImage } from './session-state.ts';

/** Port: durable per-session memory. The file adapter is the embedded default; AgentCore Memory in the cloud. */
export interface SessionMemory {
  readonly kind: string;
  load(sessionId: string): Promise<SessionRecord | undefined>;
  save(record: SessionRecord): Promise<void>;
}

const DATA_URL = /^data:[^,]*;base64,/;
const OMITTED = '[image bytes omitted: the session keeps image ids and URLs only]';

function scrub(value: unknown): unknown {
  if (typeof value === 'string') return DATA_URL.test(value) ? OMITTED : value;
  if (Array.isArray(value)) return value.map(scrub);
  if (value instanceof Uint8Array) return OMITTED;
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([key, inner]) => [key, scrub(inner)]));
  }
  return value;
}

/**
 * What a memory adapter persists: the record without image bytes. Images keep their id, prompt,
 * type, URL and transaction; their `data_url` (≈2 MB of base64 for a 1024 px PNG) stays in the
 * turn that bought it (the turn's output carries it) and is never written, and any data URL or
 * byte array that found its way into the conversation is replaced by a note. The record passed in
 * is not changed.
 */
export function persistedRecord(record: SessionRecord): SessionRecord {
  const images: Record<string, StoredImage> = {};
  for (const [id, image] of Object.entries(record.images)) {
    const { data_url: _bytes, ...kept } = image;
    images[id] = kept;
  }
  return {
    ...record,
    images,
    messages: record.messages.map((message) => scrub(message) as Record<string, unknown>),
  };
}
