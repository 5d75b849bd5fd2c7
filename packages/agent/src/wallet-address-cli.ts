import { printWalletAddress } from './wallet-address.ts';

// `pnpm --filter @agentic-payments/agent wallet-address`: see printWalletAddress.
const code = await printWalletAddress(process.env, {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
});
// The CDP SDK and AgentKit keep sockets and timers open; the answer is printed, so end here.
process.exit(code);
