/**
 * `npm start`: the whole system on this machine, in order, with progress output: devnet (USDC,
 * funding, explorer), facilitator, gateway, agent, WebSocket host and chat page. Ctrl-C stops it.
 * A second start reuses DATA_DIR, so balances, sessions, payment records and images survive.
 */
import { performance } from 'node:perf_hooks';
import { commandStartMs, readyBanner } from './lib/banner.ts';
import { ConfigError, loadStartConfig } from './lib/config.ts';
import { REPO_ROOT } from './lib/frontend.ts';
import { balancesOf, describe, StackError, startStack } from './lib/stack.ts';

// The AWS SDK warns that releases after January 2027 need Node 22; the lockfile pins today's.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
// "ready in" counts from the command's start: bootstrap.mjs passes its start time, else this process's.
const startedAtMs = commandStartMs(process.env, performance.timeOrigin, Date.now());
const say = (line = '') => process.stdout.write(`${line}\n`);

async function main(): Promise<void> {
  const config = loadStartConfig(process.env, REPO_ROOT);
  say(`agentic-payments: starting the local stack (data in ${config.DATA_DIR})`);
  const stack = await startStack(config, say);
  const { info } = stack;

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    say(`\n${signal}: stopping every service (state is kept in ${info.dataDir})...`);
    await stack.stop();
    say('stopped.');
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));

  const [agent, seller] = await Promise.all([
    balancesOf(info, info.agentAddress),
    balancesOf(info, info.sellerAddress),
  ]);
  for (const line of readyBanner(info, { agent, seller }, Date.now() - startedAtMs)) say(line);
}

main().catch((error: unknown) => {
  if (error instanceof ConfigError || error instanceof StackError) {
    process.stderr.write(`error: ${error.message}\n`);
  } else {
    process.stderr.write(`error: could not start the stack: ${describe(error)}\n`);
    if (process.env.DEBUG) console.error(error);
  }
  process.exit(1);
});
