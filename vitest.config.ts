import { defineConfig } from 'vitest/config';

// One run covers every workspace project; each project may add its own globalSetup (the devnet).
export default defineConfig({
  test: {
    projects: ['packages/*', 'cdk', 'scripts', 'test'],
    // 2-core machines: keep the number of concurrent test files small and predictable.
    maxWorkers: 2,
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
});
