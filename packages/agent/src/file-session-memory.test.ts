import { mkdtemp, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FileSessionMemory } from './file-session-memory.ts';
import { emptySession } from './session-state.ts';

describe('FileSessionMemory', () => {
  it('round-trips a session through a new instance (as after a restart)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'agent-memory-'));
    const record = {
      ...emptySession('s-1', new Date('2026-01-01T00:00:00Z')),
      turn: 3,
      spent: '40000',
      messages: [{ role: 'user', content: [{ text: 'hi' }] }],
    };
    await new FileSessionMemory(dir).save(record);
    expect(await new FileSessionMemory(dir).load('s-1')).toStrictEqual(record);
    expect(await new FileSessionMemory(dir).load('s-2')).toBeUndefined();
  });

  it('writes atomically and keeps client session ids out of file names', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'agent-memory-'));
    const memory = new FileSessionMemory(dir);
    await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        memory.save({ ...emptySession('../../escape', new Date()), turn: i }),
      ),
    );
    const files = await readdir(dir);
    expect(files).toHaveLength(1);
    expect(files[0]).toMatch(/^[0-9a-f]{40}\.json$/);
    expect((await memory.load('../../escape'))?.session_id).toBe('../../escape');
  });
});
