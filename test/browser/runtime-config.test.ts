import { describe, expect, it } from 'vitest';
import { loadRuntimeConfig, RUNTIME_CONFIG_PATH } from '../../frontend/src/runtime-config.ts';

// The deployed page (S3 + CloudFront) gets its WebSocket URL only from the config.json that
// `cdk deploy` writes; a build-time VITE_WS_URL is the fallback (Vite dev server, Git builds).
const serving = (status: number, body: unknown) => {
  const requested: string[] = [];
  const fetch = (async (input: string | URL | Request) => {
    requested.push(String(input));
    return new Response(typeof body === 'string' ? body : JSON.stringify(body), { status });
  }) as typeof globalThis.fetch;
  return { fetch, requested };
};
const WS = 'wss://abc123.execute-api.us-east-1.amazonaws.com/prod';

describe('loadRuntimeConfig (frontend/src/runtime-config.ts)', () => {
  it('reads the WebSocket and explorer URLs from /config.json', async () => {
    const { fetch, requested } = serving(200, { wsUrl: WS, explorerUrl: 'https://sepolia.basescan.org' });
    expect(await loadRuntimeConfig({ fetch, build: {} })).toStrictEqual({
      wsUrl: WS,
      explorerUrl: 'https://sepolia.basescan.org',
    });
    expect(requested).toStrictEqual([RUNTIME_CONFIG_PATH]);
  });

  it('prefers config.json over a URL baked in at build time', async () => {
    const { fetch } = serving(200, { wsUrl: WS });
    expect(await loadRuntimeConfig({ fetch, build: { wsUrl: 'ws://127.0.0.1:3001' } })).toStrictEqual({
      wsUrl: WS,
    });
  });

  it('falls back to the build-time URL when there is no config.json', async () => {
    const { fetch } = serving(404, 'not found');
    expect(
      await loadRuntimeConfig({
        fetch,
        build: { wsUrl: 'ws://127.0.0.1:3001', explorerUrl: 'http://127.0.0.1:4000' },
      }),
    ).toStrictEqual({ wsUrl: 'ws://127.0.0.1:3001', explorerUrl: 'http://127.0.0.1:4000' });
  });

  it('ignores a wsUrl that is not a WebSocket URL', async () => {
    const { fetch } = serving(200, { wsUrl: 'javascript:alert(1)' });
    await expect(loadRuntimeConfig({ fetch, build: {} })).rejects.toThrow('config.json has no wsUrl');
  });

  it('names the problem when neither config.json nor the build has a URL', async () => {
    await expect(loadRuntimeConfig({ fetch: serving(404, '').fetch, build: {} })).rejects.toThrow(
      'config.json answered HTTP 404',
    );
    const unreachable = (async () => {
      throw new TypeError('Failed to fetch');
    }) as typeof globalThis.fetch;
    await expect(loadRuntimeConfig({ fetch: unreachable, build: {} })).rejects.toThrow(
      'config.json could not be read (Failed to fetch)',
    );
  });
});
