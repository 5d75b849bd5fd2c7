/**
 * `npm start`: the whole system on this machine, in order, with progress output: devnet (USDC,
 * funding, explorer), facilitator, gateway, agent, WebSocket host and chat page. Ctrl-C stops it.
 * A second start reuses DATA_DIR, so balances, sessions, payment records and images survive.
 */
import { performance } from 'node:perf_hooks';
import { ConfigError, loadStartConfig } from './lib/config.ts';
import { REPO_ROOT } from './lib/frontend.ts';
import { balancesOf, describe, StackError, startStack } from './lib/stack.ts';

// The AWS SDK warns that releases after January 2027 need Node 22; the lockfile pins today's.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
const t0 = performance.now();
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
  const devnetOnly = info.network === 'devnet' ? ' (devnet-only test key)' : '';
  say();
  say(`ready in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  say();
  say(`  chat page          ${info.chatUrl}`);
  say(`  WebSocket API      ${info.websocketUrl}`);
  say(`  agent              ${info.agentUrl}/invocations   (${info.agentUrl}/ping)`);
  say(`  gateway (seller)   ${info.gatewayUrl}/generate_image`);
  say(`  facilitator        ${info.facilitatorUrl}/supported`);
  say(
    `  chain RPC          ${info.rpcUrl}   (${info.network === 'devnet' ? 'local devnet, chain id 84532' : info.network})`,
  );
  say(`  explorer           ${info.explorerUrl}`);
  say();
  say(`  agent wallet       ${info.agentAddress}${devnetOnly}: ${agent.eth} ETH, ${agent.usdc} USDC`);
  say(`  seller (payTo)     ${info.sellerAddress}: ${seller.usdc} USDC`);
  say(`  logs               ${info.logFile}`);
  say();
  say('Try it:');
  say(`  open ${info.chatUrl} and ask "Generate an image of a futuristic city at sunset"`);
  say('  npm run demo      # plays the example conversation against this stack');
  say(`  curl -X POST ${info.agentUrl}/invocations \\`);
  say('    -H "Content-Type: application/json" \\');
  say(
    `    -d '{"input": {"prompt": "What are your main capabilities and what tasks are you designed for?"}, "session_id": "test-session"}'`,
  );
  say();
  say('Press Ctrl-C to stop.');
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
