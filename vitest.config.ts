import { defineConfig } from 'vitest/config';

// The AWS SDK's Node-version maintenance notice would print once per test worker; this is its
// documented switch (@aws-sdk/core emitWarningIfUnsupportedVersion). Workers inherit this env.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

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
