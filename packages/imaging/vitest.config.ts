import { defineProject } from 'vitest/config';

// Project-level options are not inherited from the root config: restate the shared 30 s budget,
// since 2048x2048 renders and decodes on an oversubscribed 2-core machine can exceed the 5 s default.
export default defineProject({
  test: {
    name: '@agentic-payments/imaging',
    testTimeout: 30_000,
  },
});
