import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The cdk/ directory. */
export const CDK_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '..');
/** The monorepo root: esbuild's project root and the lock file that pins what gets bundled. */
export const REPO_ROOT = resolve(CDK_DIR, '..');

/** Entry points of the code this app deploys (owned by the runtime packages). */
export const ENTRIES = {
  gateway: resolve(REPO_ROOT, 'packages/gateway/src/lambda.ts'),
  /** The batch-settlement claim job (scheduled). */
  claim: resolve(REPO_ROOT, 'packages/gateway/src/claim-lambda.ts'),
  facilitator: resolve(REPO_ROOT, 'packages/facilitator/src/lambda.ts'),
  connect: resolve(REPO_ROOT, 'packages/realtime/src/handlers/connect.ts'),
  disconnect: resolve(REPO_ROOT, 'packages/realtime/src/handlers/disconnect.ts'),
  default: resolve(REPO_ROOT, 'packages/realtime/src/handlers/default.ts'),
  worker: resolve(REPO_ROOT, 'packages/realtime/src/handlers/turn-worker.ts'),
  agentBundler: resolve(REPO_ROOT, 'packages/agent/build/main.ts'),
  frontendDir: resolve(REPO_ROOT, 'frontend'),
} as const;

export type Entries = { -readonly [K in keyof typeof ENTRIES]: string };
