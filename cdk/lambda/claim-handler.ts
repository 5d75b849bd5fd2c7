// Lambda entry for the scheduled batch-settlement claim job: the bearer token our facilitator asks
// for before it signs claims lives in Secrets Manager and the function's configuration carries only
// its ARN. Load it, then the claim job (which reads env once).
import { loadSecretIntoEnv } from './secret-env.ts';

await loadSecretIntoEnv({ arnVariable: 'FACILITATOR_TOKEN_SECRET_ARN', targets: ['FACILITATOR_TOKEN'] });
const claims = await import('../../packages/gateway/src/claim-lambda.ts');

export const handler = claims.handler;
