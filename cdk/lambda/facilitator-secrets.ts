import { type LoadSecretIntoEnvParameters, loadSecretIntoEnv } from './secret-env.ts';

/** Env variables naming the facilitator's secrets (cdk/lib/facilitator-stack.ts sets them). */
export const FACILITATOR_SECRET_ARNS = {
  settlerKey: 'FACILITATOR_PRIVATE_KEY_SECRET_ARN',
  receiverAuthorizerKey: 'FACILITATOR_RECEIVER_AUTHORIZER_KEY_SECRET_ARN',
  authorizerTokens: 'FACILITATOR_AUTHORIZER_TOKENS_SECRET_ARN',
} as const;

/** The placeholder the stack generates: the authorizer stays off until a key is put. */
export const AUTHORIZER_OFF = 'none';

export interface LoadFacilitatorSecretsParameters {
  readonly env?: NodeJS.ProcessEnv;
  readonly client?: LoadSecretIntoEnvParameters['client'];
  /** One line for the operator (console.warn by default). */
  readonly warn?: (line: string) => void;
}

/**
 * Loads the facilitator's keys from Secrets Manager into `env`, before the facilitator parses it:
 * the settler key (always), then, when their ARNs are configured, the batch-settlement authorizer
 * token(s) and the receiver-authorizer key. While the key secret holds the generated placeholder
 * (`none`) the facilitator offers no receiver authorizer, and one warning line says which secret to
 * fill. Errors name the secret and the key, never a value.
 *
 * @example
 * await loadFacilitatorSecrets(); // then import the facilitator
 */
export async function loadFacilitatorSecrets(params: LoadFacilitatorSecretsParameters = {}): Promise<void> {
  const env = params.env ?? process.env;
  const warn = params.warn ?? ((line: string) => console.warn(line));
  const load = (arnVariable: string, target: string) =>
    loadSecretIntoEnv({ arnVariable, targets: [target], env, client: params.client });

  await load(FACILITATOR_SECRET_ARNS.settlerKey, 'FACILITATOR_PRIVATE_KEY');
  if (env[FACILITATOR_SECRET_ARNS.authorizerTokens]) {
    await load(FACILITATOR_SECRET_ARNS.authorizerTokens, 'FACILITATOR_AUTHORIZER_TOKENS');
  }
  const keyArn = env[FACILITATOR_SECRET_ARNS.receiverAuthorizerKey];
  if (!keyArn) return;
  await load(FACILITATOR_SECRET_ARNS.receiverAuthorizerKey, 'FACILITATOR_RECEIVER_AUTHORIZER_KEY');
  if (env.FACILITATOR_RECEIVER_AUTHORIZER_KEY === AUTHORIZER_OFF) {
    warn(
      `batch_settlement_authorizer_off: secret ${keyArn} holds the placeholder "${AUTHORIZER_OFF}"; the facilitator offers no batch-settlement receiver authorizer until FACILITATOR_RECEIVER_AUTHORIZER_KEY there is a 0x-prefixed 32-byte key (then restart the function)`,
    );
  }
}
