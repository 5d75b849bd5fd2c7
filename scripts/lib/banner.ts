import { getNetwork } from '@agentic-payments/x402';
import type { StackInfo } from './stack.ts';

/**
 * `npm start` runs scripts/bootstrap.mjs (pnpm and dependency checks, 4-9 s on a cold machine)
 * before this process; bootstrap puts its own start time here so "ready in" counts from the command.
 */
export const START_TIME_ENV = 'AGENTIC_PAYMENTS_STARTED_AT_MS';

/**
 * When the command started, in epoch milliseconds: bootstrap's time when it passed a sane one (not
 * in the future, at most an hour old), else this process's start.
 */
export function commandStartMs(env: NodeJS.ProcessEnv, processStartMs: number, nowMs: number): number {
  const raw = env[START_TIME_ENV];
  const value = raw !== undefined && /^\d{10,16}$/.test(raw) ? Number(raw) : Number.NaN;
  if (Number.isFinite(value) && value <= nowMs && nowMs - value < 3_600_000) return value;
  return processStartMs;
}

export interface Balances {
  eth: string;
  usdc: string;
}

/** The lines printed once the stack is ready: every service this command started, and how to use them. */
export function readyBanner(
  info: StackInfo,
  balances: { agent: Balances; seller: Balances },
  elapsedMs: number,
): string[] {
  const network = getNetwork(info.network);
  const devnetOnly = network.local ? ' (devnet-only test key)' : '';
  const row = (name: string, value: string) => `  ${name.padEnd(19)}${value}`;
  return [
    '',
    `ready in ${(elapsedMs / 1000).toFixed(1)} s (since the command started)`,
    '',
    row('chat page', info.chatUrl),
    row('WebSocket API', info.websocketUrl),
    row('agent', `${info.agentUrl}/invocations   (${info.agentUrl}/ping)`),
    row('gateway (seller)', `${info.gatewayUrl}/generate_image`),
    row('facilitator', `${info.facilitatorUrl}/supported`),
    row('chain RPC', `${info.rpcUrl}   (${network.displayName})`),
    row('explorer', info.explorerUrl),
    ...(info.imageStoreUrl ? [row('image store', `${info.imageStoreUrl}   (s3rver, S3 stand-in)`)] : []),
    ...(info.paymentsDbUrl
      ? [row('payment records', `${info.paymentsDbUrl}   (dynalite, DynamoDB stand-in)`)]
      : []),
    ...(info.connectionsDbUrl
      ? [row('connections', `${info.connectionsDbUrl}   (dynalite, DynamoDB stand-in)`)]
      : []),
    '',
    row(
      'agent wallet',
      `${info.agentAddress}${devnetOnly}: ${balances.agent.eth} ETH, ${balances.agent.usdc} USDC`,
    ),
    row('seller (payTo)', `${info.sellerAddress}: ${balances.seller.usdc} USDC`),
    row('logs', info.logFile),
    '',
    'Try it:',
    `  open ${info.chatUrl} and ask "Generate an image of a futuristic city at sunset"`,
    '  npm run demo      # plays the example conversation against this stack',
    `  curl -X POST ${info.agentUrl}/invocations \\`,
    '    -H "Content-Type: application/json" \\',
    `    -d '{"input": {"prompt": "What are your main capabilities and what tasks are you designed for?"}, "session_id": "test-session"}'`,
    '',
    'Press Ctrl-C to stop.',
  ];
}
