import { loadConnectionsConfig } from '../config.ts';
import { createConnectionsDeps } from '../create-aws-deps.ts';
import { createDisconnectHandler } from '../disconnect-handler.ts';

/** Lambda entry for the `$disconnect` route. */
export const handler = createDisconnectHandler(createConnectionsDeps(loadConnectionsConfig(process.env)));
