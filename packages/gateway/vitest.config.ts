import { defineProject } from 'vitest/config';

// One devnet (anvil + USDC + explorer on free ports) for this project's chain tests.
export default defineProject({
  test: {
    name: '@agentic-payments/gateway',
    globalSetup: ['@agentic-payments/devnet/global-setup'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
});
