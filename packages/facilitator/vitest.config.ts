import { defineProject } from 'vitest/config';

// One devnet (anvil + USDC at Base Sepolia's address) for this project's test files.
export default defineProject({
  test: {
    name: '@agentic-payments/facilitator',
    globalSetup: ['@agentic-payments/devnet/global-setup'],
  },
});
