// Lambda entry for the gateway when it settles through the CDP facilitator: the CDP API key lives in
// Secrets Manager and the function's configuration carries only its ARN. Load it, then the gateway.
import { loadSecretIntoEnv } from './secret-env.ts';

await loadSecretIntoEnv({ arnVariable: 'CDP_SECRET_ARN', targets: ['CDP_API_KEY_ID', 'CDP_API_KEY_SECRET'] });
const gateway = await import('../../packages/gateway/src/lambda.ts');

export const handler = gateway.handler;
