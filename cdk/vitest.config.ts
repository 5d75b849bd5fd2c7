import { defineProject } from 'vitest/config';

// Synthesizing the app bundles five Lambdas with esbuild and runs cdk-nag; on a loaded 2-core
// machine that takes tens of seconds, once per test file (in beforeAll).
export default defineProject({
  test: {
    name: '@agentic-payments/cdk',
    include: ['test/**/*.test.ts', 'lambda/**/*.test.ts', 'lib/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 240_000,
  },
});
