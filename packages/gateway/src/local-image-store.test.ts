import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createLocalImageStore } from './local-image-store.ts';

const dataDir = mkdtempSync(join(tmpdir(), 'gateway-images-'));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

const store = createLocalImageStore({ dataDir, publicUrl: 'http://127.0.0.1:4021/', secret: 'k'.repeat(32) });
const id = '6f1c2a4e-9b7d-4c1e-8f3a-2d5b6c7e8f90';
const png = { bytes: new Uint8Array([0x89, 0x50, 0x4e, 0x47]), mimeType: 'image/png' };

describe('createLocalImageStore', () => {
  it('stores, reads back and signs an expiring URL', async () => {
    await store.put(id, png);
    expect(await store.get(id)).toStrictEqual(png);
    const url = new URL(await store.url(id, 2_000_000_000_000));
    expect(url.pathname).toBe(`/images/${id}`);
    const exp = url.searchParams.get('exp') ?? '';
    const sig = url.searchParams.get('sig') ?? '';
    expect(exp).toBe('2000000000');
    expect(store.verifySignature(id, exp, sig, 1_999_999_999_000)).toBe(true);
    expect(store.verifySignature(id, exp, sig, 2_000_000_000_000)).toBe(false);
    expect(store.verifySignature(id, '2000000001', sig, 0)).toBe(false);
    expect(store.verifySignature(id.replace('6f', '7f'), exp, sig, 0)).toBe(false);
  });

  it('refuses ids that are not UUIDs (no path traversal) and unknown types', async () => {
    await expect(store.put('../../etc/passwd', png)).rejects.toThrow(/refusing/);
    await expect(store.put(id, { ...png, mimeType: 'text/html' })).rejects.toThrow(/refusing/);
    expect(await store.get('../payments/CURRENT')).toBeUndefined();
    expect(store.verifySignature('../x', '1', 'a', 0)).toBe(false);
  });
});
