import { loadTurnWorkerConfig } from '../config.ts';
import { createTurnWorkerDeps } from '../create-aws-deps.ts';
import { createTurnWorker } from '../turn-worker.ts';

/** Lambda entry for the turn worker (invoked asynchronously by `$default`): one agent turn. */
export const handler = createTurnWorker(createTurnWorkerDeps(loadTurnWorkerConfig(process.env)));
