import { defineProject } from 'vitest/config';

// One devnet (anvil + USDC + explorer on free ports) for this project's end-to-end tests.
export default defineProject({
  test: {
    name: '@agentic-payments/agent',
    globalSetup: ['@agentic-payments/devnet/global-setup'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
});
