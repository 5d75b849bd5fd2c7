// Lambda entry for the opt-in facilitator: the settler key, the batch-settlement receiver-authorizer
// key and the authorizer token live in Secrets Manager and the function's configuration carries only
// their ARNs. Load them, then the facilitator (which reads env once).
import { loadFacilitatorSecrets } from './facilitator-secrets.ts';

await loadFacilitatorSecrets();
const facilitator = await import('../../packages/facilitator/src/lambda.ts');

export const handler = facilitator.handler;
