import { defineProject } from 'vitest/config';

// Project configs do not inherit the root's test options; these tests start real processes.
export default defineProject({
  test: {
    testTimeout: 30_000,
    hookTimeout: 120_000,
  },
});
