import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { agentKitNamesUsedBy, missingAgentKitNamesIn } from './bundle-agent.ts';

describe('agentKitNamesUsedBy', () => {
  it('finds the value names taken from @coinbase/agentkit, statically or by dynamic import, and skips types', () => {
    const source = `
      import type { EvmWalletProvider, ViemWalletProvider } from '@coinbase/agentkit';
      import { type WalletProviderConfig, AgentKit } from '@coinbase/agentkit';
      const { WalletProvider } = await import('@coinbase/agentkit');
      const { CdpEvmWalletProvider, ViemWalletProvider: ViemProvider } = await import('@coinbase/agentkit');
      const { other } = await import('viem');
    `;
    expect(agentKitNamesUsedBy(source)).toStrictEqual([
      'AgentKit',
      'CdpEvmWalletProvider',
      'ViemWalletProvider',
      'WalletProvider',
    ]);
  });
});

describe('missingAgentKitNamesIn', () => {
  it("accepts the agent's own sources (every AgentKit name they use is bundled)", async () => {
    expect(await missingAgentKitNamesIn(join(import.meta.dirname, '../src'))).toStrictEqual([]);
  });

  it('names an AgentKit export the bundle would leave out', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'agentkit-names-'));
    try {
      await writeFile(
        join(dir, 'wallet.ts'),
        "const { ViemWalletProvider, PrivyWalletProvider } = await import('@coinbase/agentkit');\n",
      );
      expect(await missingAgentKitNamesIn(dir)).toStrictEqual(['PrivyWalletProvider']);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
