/**
 * CLI: `tsx packages/devnet/src/main.ts` starts the devnet on DEVNET_PORT (8545) with the explorer
 * on EXPLORER_PORT (4000), state under DATA_DIR (default `.data/` at the repository root).
 * Ctrl-C stops cleanly (anvil writes its state first).
 */
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import type { DevnetAccount } from './accounts.ts';
import { DevnetError } from './errors.ts';
import { startDevnet } from './start-devnet.ts';

const Port = z.coerce.number().int().min(0).max(65_535);
const Env = z.object({
  DEVNET_PORT: Port.default(8545),
  EXPLORER_PORT: Port.default(4000),
  DEVNET_HOST: z.string().min(1).default('127.0.0.1'),
  DATA_DIR: z
    .string()
    .min(1)
    .default(fileURLToPath(new URL('../../../.data', import.meta.url))),
  DEVNET_VERBOSE: z.enum(['0', '1', 'true', 'false']).default('0'),
});

const parsed = Env.safeParse(process.env);
if (!parsed.success) {
  for (const issue of parsed.error.issues)
    console.error(`devnet: invalid ${issue.path.join('.')}: ${issue.message}`);
  process.exit(2);
}
const env = parsed.data;

try {
  const devnet = await startDevnet({
    port: env.DEVNET_PORT,
    host: env.DEVNET_HOST,
    explorerPort: env.EXPLORER_PORT,
    dataDir: env.DATA_DIR,
    verbose: env.DEVNET_VERBOSE === '1' || env.DEVNET_VERBOSE === 'true',
  });
  const row = (role: string, account: DevnetAccount): string =>
    `  ${role.padEnd(9)} ${account.address}  key ${account.privateKey}`;
  console.log(
    [
      '',
      `RPC        ${devnet.rpcUrl}   (chain id ${devnet.chainId}, automine)`,
      `Explorer   ${devnet.explorerUrl ?? '(off)'}`,
      `USDC       ${devnet.usdcAddress}`,
      `State      ${devnet.stateDir}`,
      '',
      'Accounts — DEVNET ONLY: these keys are public; never use them on a real network.',
      row('deployer', devnet.accounts.deployer),
      row('agent', devnet.accounts.agent),
      row('settler', devnet.accounts.settler),
      row('seller', devnet.accounts.seller),
      '',
      'Ctrl-C to stop.',
    ].join('\n'),
  );
  let stopping = false;
  const shutdown = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    console.log(`\n${signal}: stopping devnet (saving state)…`);
    devnet.stop().then(
      () => process.exit(0),
      (error: unknown) => {
        console.error('devnet: stop failed', error);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));
} catch (error) {
  console.error(error instanceof DevnetError ? error.message : error);
  process.exit(1);
}
