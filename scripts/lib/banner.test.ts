import { describe, expect, it } from 'vitest';
import { commandStartMs, readyBanner, START_TIME_ENV } from './banner.ts';
import type { StackInfo } from './stack.ts';

const NOW = 1_800_000_000_000;

describe('commandStartMs', () => {
  it("counts from bootstrap's start time when it passed one", () => {
    expect(commandStartMs({ [START_TIME_ENV]: String(NOW - 7_000) }, NOW - 1_000, NOW)).toBe(NOW - 7_000);
  });

  it('falls back to the process start for a missing, garbled, future or stale time', () => {
    for (const value of [undefined, 'soon', String(NOW + 5_000), String(NOW - 2 * 3_600_000)]) {
      expect(commandStartMs({ [START_TIME_ENV]: value }, NOW - 1_000, NOW)).toBe(NOW - 1_000);
    }
  });
});

describe('readyBanner', () => {
  const info: StackInfo = {
    network: 'devnet',
    rpcUrl: 'http://127.0.0.1:8545',
    explorerUrl: 'http://127.0.0.1:4000',
    facilitatorUrl: 'http://127.0.0.1:4022',
    gatewayUrl: 'http://127.0.0.1:4021',
    agentUrl: 'http://127.0.0.1:8080',
    websocketUrl: 'ws://127.0.0.1:3001/local',
    chatUrl: 'http://127.0.0.1:3001/',
    imageStoreUrl: 'http://127.0.0.1:40123',
    paymentsDbUrl: 'http://127.0.0.1:40124',
    connectionsDbUrl: 'http://127.0.0.1:40125',
    agentAddress: '0x70997970C51812dc3A010C7d01b50e0d17dc79C8',
    sellerAddress: '0x90F79bf6EB2c4f870365E785982E1f101E93b906',
    usdcAddress: '0x036CbD53842c5426634e7929541eC2318f3dCF7e',
    dataDir: '/repo/.data',
    logFile: '/repo/.data/logs/stack.log',
    startedAt: '2027-01-15T08:00:00.000Z',
    pid: 1,
  };
  const lines = readyBanner(
    info,
    { agent: { eth: '1.000000', usdc: '10' }, seller: { eth: '0', usdc: '0' } },
    12_345,
  );
  const text = lines.join('\n');

  it('says how long the whole command took', () => {
    expect(lines).toContain('ready in 12.3 s (since the command started)');
  });

  it('lists every local service it started, the image store included', () => {
    for (const url of Object.values(info).filter((v) => typeof v === 'string' && v.startsWith('http'))) {
      expect(text).toContain(url as string);
    }
    expect(text).toContain('  image store        http://127.0.0.1:40123   (s3rver, S3 stand-in)');
  });

  it("names the chain by the devnet's display name", () => {
    expect(text).toContain('(Local devnet — Base Sepolia stand-in (chain 84532))');
    expect(text).not.toMatch(/base-sepolia/);
  });
});
