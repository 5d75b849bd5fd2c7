import { defineProject } from 'vitest/config';

export default defineProject({
  test: {
    name: '@agentic-payments/realtime',
    // The local host starts dynalite and s3rver; leave room on a loaded 2-core machine.
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
});
