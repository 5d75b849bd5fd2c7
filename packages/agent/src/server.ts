import { startAgent } from './start-agent.ts';

// Entry point of the AgentCore container and of `pnpm start`: config from the environment.
const agent = await startAgent({ env: process.env });
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    void agent.stop().then(() => process.exit(0));
  });
}
