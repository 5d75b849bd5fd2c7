import { loadRealtimeConfig } from '../config.ts';
import { createDefaultDeps } from '../create-aws-deps.ts';
import { createDefaultHandler } from '../default-handler.ts';

/** Lambda entry for the `$default` route: the agent turn. */
export const handler = createDefaultHandler(createDefaultDeps(loadRealtimeConfig(process.env)));
