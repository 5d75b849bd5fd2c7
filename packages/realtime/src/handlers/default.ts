import { loadDefaultRouteConfig } from '../config.ts';
import { createDefaultDeps } from '../create-aws-deps.ts';
import { createDefaultHandler } from '../default-handler.ts';

/** Lambda entry for the `$default` route: accepts a turn and starts the turn worker. */
export const handler = createDefaultHandler(createDefaultDeps(loadDefaultRouteConfig(process.env)));
