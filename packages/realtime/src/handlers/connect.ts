import { loadConnectionsConfig } from '../config.ts';
import { createConnectHandler } from '../connect-handler.ts';
import { createConnectionsDeps } from '../create-aws-deps.ts';

/** Lambda entry for the `$connect` route. */
export const handler = createConnectHandler(createConnectionsDeps(loadConnectionsConfig(process.env)));
