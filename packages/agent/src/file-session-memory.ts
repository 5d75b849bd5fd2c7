import { createHash, randomUUID } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { persistedRecord, type SessionMemory } from './session-memory.ts';
import { SessionRecord } from './session-state.ts';

/**
 * Durable local session memory: one JSON file per session under `<dir>`, written atomically
 * (temp file + rename) so a crash mid-write never leaves a torn record. Like AgentCore Memory it
 * keeps image ids and URLs, never image bytes ({@link persistedRecord}).
 */
export class FileSessionMemory implements SessionMemory {
  readonly kind = 'file';
  constructor(private readonly dir: string) {}

  private pathFor(sessionId: string): string {
    // Session ids come from clients: hash them so no id can escape the directory.
    const digest = createHash('sha256').update(sessionId).digest('hex').slice(0, 40);
    return join(this.dir, `${digest}.json`);
  }

  async load(sessionId: string): Promise<SessionRecord | undefined> {
    let text: string;
    try {
      text = await readFile(this.pathFor(sessionId), 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
    const parsed = SessionRecord.safeParse(JSON.parse(text));
    if (!parsed.success) throw new Error(`corrupt session record for ${sessionId}: ${parsed.error.message}`);
    if (parsed.data.session_id !== sessionId) return undefined;
    return parsed.data;
  }

  async save(record: SessionRecord): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    const target = this.pathFor(record.session_id);
    const temp = `${target}.${randomUUID()}.tmp`;
    await writeFile(temp, JSON.stringify(persistedRecord(record)), 'utf8');
    await rename(temp, target);
  }
}
