import { defineProject } from 'vitest/config';

// One devnet (anvil + USDC at Base Sepolia's address) for this project's test files. A project
// config does not inherit the root's test options, so the timeouts are repeated here.
export default defineProject({
  test: {
    name: '@agentic-payments/facilitator',
    globalSetup: ['@agentic-payments/devnet/global-setup'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
});
