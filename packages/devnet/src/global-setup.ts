/**
 * vitest globalSetup: one devnet (free port, temporary data dir, explorer on a free port) for a
 * test project, provided to test files as `inject('devnet')`.
 *
 * @example
 * // vitest.config.ts
 * export default defineProject({ test: { globalSetup: ['@agentic-payments/devnet/global-setup'] } });
 * // a test file
 * import { inject } from 'vitest';
 * const { rpcUrl, usdcAddress, accounts } = inject('devnet');
 */
import type {} from 'vitest';
import type { TestProject } from 'vitest/node';
import type { DevnetAccounts } from './accounts.ts';
import { startDevnet } from './start-devnet.ts';

/** What `inject('devnet')` returns (plain data: it crosses into the test workers). */
export interface ProvidedDevnet {
  rpcUrl: string;
  explorerUrl: string;
  chainId: number;
  usdcAddress: `0x${string}`;
  accounts: DevnetAccounts;
}

declare module 'vitest' {
  export interface ProvidedContext {
    devnet: ProvidedDevnet;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const devnet = await startDevnet({
    port: 0,
    explorerPort: 0,
    log: (line) => console.log(`[devnet:${project.name}] ${line}`),
  });
  if (!devnet.explorerUrl) throw new Error('devnet global setup: explorer did not start');
  project.provide('devnet', {
    rpcUrl: devnet.rpcUrl,
    explorerUrl: devnet.explorerUrl,
    chainId: devnet.chainId,
    usdcAddress: devnet.usdcAddress,
    accounts: devnet.accounts,
  });
  return () => devnet.stop();
}
