// Lambda entry for the gateway when it uses our own facilitator: the bearer token the facilitator
// asks for before it signs batch-settlement refunds lives in Secrets Manager and the function's
// configuration carries only its ARN. Load it, then the gateway (which reads env once).
import { loadSecretIntoEnv } from './secret-env.ts';

await loadSecretIntoEnv({ arnVariable: 'FACILITATOR_TOKEN_SECRET_ARN', targets: ['FACILITATOR_TOKEN'] });
const gateway = await import('../../packages/gateway/src/lambda.ts');

export const handler = gateway.handler;
