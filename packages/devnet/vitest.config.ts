import { defineProject } from 'vitest/config';

export default defineProject({
  test: {
    name: '@agentic-payments/devnet',
    // One shared devnet (free port, temp dir, explorer) for files that use inject('devnet');
    // files that need their own chain (restart, contract edge cases) start one themselves.
    globalSetup: ['./src/global-setup.ts'],
  },
});
