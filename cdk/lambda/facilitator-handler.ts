// Lambda entry for the opt-in facilitator: the settler key lives in Secrets Manager and the
// function's configuration carries only its ARN. Load it, then the facilitator (which reads env once).
import { loadSecretIntoEnv } from './secret-env.ts';

await loadSecretIntoEnv({
  arnVariable: 'FACILITATOR_PRIVATE_KEY_SECRET_ARN',
  targets: ['FACILITATOR_PRIVATE_KEY'],
});
const facilitator = await import('../../packages/facilitator/src/lambda.ts');

export const handler = facilitator.handler;
