import net from 'node:net';
import { ViemWalletProvider } from '@coinbase/agentkit';
import { createWalletClient, http } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { baseSepolia } from 'viem/chains';
import { afterAll, describe, expect, inject, it, vi } from 'vitest';
import { disableAgentKitAnalytics } from '../src/index.ts';
import { type Stack, say, startStack, startTestAgent } from './stack.ts';

// Every TCP connection this process opens (fetch/undici, http, AWS SDK and viem all go through
// net.Socket#connect), recorded as its target host.
const targets: string[] = [];
const originalConnect = net.Socket.prototype.connect;
net.Socket.prototype.connect = function recordConnect(this: net.Socket, ...args: unknown[]) {
  const first = Array.isArray(args[0]) ? args[0][0] : args[0];
  if (first && typeof first === 'object') {
    const options = first as { host?: string; path?: string };
    targets.push(options.path ? `unix:${options.path}` : (options.host ?? 'localhost'));
  } else if (typeof first === 'number') {
    targets.push(typeof args[1] === 'string' ? args[1] : 'localhost');
  } else if (typeof first === 'string') {
    targets.push(`unix:${first}`);
  }
  return (originalConnect as (...a: unknown[]) => net.Socket).apply(this, args);
} as typeof net.Socket.prototype.connect;

const isLocal = (host: string) =>
  host.startsWith('unix:') ||
  host === 'localhost' ||
  host === '::1' ||
  host === '[::1]' ||
  /^127\./.test(host);

const KEY = '0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d';
const buildProvider = () =>
  new ViemWalletProvider(
    createWalletClient({
      account: privateKeyToAccount(KEY),
      chain: baseSepolia,
      transport: http('http://127.0.0.1:9'),
    }) as never,
    { rpcUrl: 'http://127.0.0.1:9' },
  );
const nextTicks = () => new Promise((resolve) => setTimeout(resolve, 50));

describe('no request leaves the machine', () => {
  let stack: Stack | undefined;
  afterAll(async () => {
    net.Socket.prototype.connect = originalConnect;
    await stack?.stop();
  });

  describe('AgentKit analytics', () => {
    it('is sent by an unguarded wallet provider (the control: this is what the guard removes)', async () => {
      const fetchSpy = vi.fn(async (_input: unknown) => new Response('{}', { status: 200 }));
      vi.stubGlobal('fetch', fetchSpy);
      try {
        buildProvider();
        await nextTicks();
      } finally {
        vi.unstubAllGlobals();
      }
      expect(fetchSpy.mock.calls.map(([url]) => String(url))).toStrictEqual([
        'https://cca-lite.coinbase.com/amp',
      ]);
    });

    it('is never sent once disableAgentKitAnalytics ran', async () => {
      await disableAgentKitAnalytics();
      const fetchSpy = vi.fn(async (_input: unknown) => new Response('{}', { status: 200 }));
      vi.stubGlobal('fetch', fetchSpy);
      try {
        buildProvider();
        await nextTicks();
      } finally {
        vi.unstubAllGlobals();
      }
      expect(fetchSpy).not.toHaveBeenCalled();
    });
  });

  it('the whole seed conversation, payment included, only connects to loopback', async () => {
    targets.length = 0;
    stack = await startStack(inject('devnet'));
    const { agent } = await startTestAgent(stack);
    try {
      await say(agent.url, 's', 'What can you help me with?');
      await say(agent.url, 's', 'What are my wallet details?');
      const paid = await say(agent.url, 's', 'Generate an image of a futuristic city at sunset');
      expect(paid.body.output.payments).toHaveLength(1);
      await say(agent.url, 's', 'Analyze it for monetization');
      await nextTicks();
    } finally {
      await agent.stop();
    }
    expect(targets.length).toBeGreaterThan(5);
    expect(targets.filter((host) => !isLocal(host))).toStrictEqual([]);
  });
});
