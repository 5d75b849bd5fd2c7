import { mkdtemp, readdir, readFile } from 'node:fs/promises';
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

  it('stores image ids and URLs, never image bytes', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'agent-memory-'));
    const base64 = Buffer.alloc(300_000, 9).toString('base64');
    const image = {
      id: 'img-1',
      request_id: 'req-1',
      prompt: 'a lighthouse',
      mime_type: 'image/png',
      url: 'http://127.0.0.1:4021/images/img-1?exp=1&sig=x',
      created_at: '2026-01-01T00:00:00.000Z',
    };
    const record = {
      ...emptySession('s-img', new Date('2026-01-01T00:00:00Z')),
      images: { 'img-1': { ...image, data_url: `data:image/png;base64,${base64}` } },
      messages: [{ role: 'user', content: [{ text: `data:image/png;base64,${base64}` }] }],
    };
    await new FileSessionMemory(dir).save(record);
    const [file] = await readdir(dir);
    const text = await readFile(join(dir, file ?? ''), 'utf8');
    expect(text).not.toContain(base64.slice(0, 64));
    expect(text.length).toBeLessThan(2_000);
    const loaded = await new FileSessionMemory(dir).load('s-img');
    expect(loaded?.images['img-1']).toStrictEqual(image);
    expect(record.images['img-1'].data_url).toContain(base64.slice(0, 64));
  });
});
