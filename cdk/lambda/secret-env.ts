import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';

/** The one call this module makes; a structural port so tests can pass a fake. */
export interface SecretReader {
  send(command: GetSecretValueCommand): Promise<{ SecretString?: string | undefined }>;
}

export interface LoadSecretIntoEnvParameters {
  /** Env variable holding the secret's ARN (configuration, not a secret). */
  readonly arnVariable: string;
  /**
   * Env variables to fill, in this process only. One name: the secret is that value as a plain
   * string (or a JSON object with that key). Several: the secret is a JSON object with those keys.
   */
  readonly targets: readonly [string, ...string[]];
  readonly env?: NodeJS.ProcessEnv;
  readonly client?: SecretReader;
}

/**
 * Reads a Secrets Manager secret by the ARN in `env[arnVariable]` and sets `env[target]` for each
 * target, so a package that reads its keys from env gets them at cold start while the Lambda's
 * configuration only ever holds the ARN. Errors name the secret and the keys, never the value.
 *
 * @example
 * await loadSecretIntoEnv({ arnVariable: 'FACILITATOR_PRIVATE_KEY_SECRET_ARN', targets: ['FACILITATOR_PRIVATE_KEY'] });
 */
export async function loadSecretIntoEnv(params: LoadSecretIntoEnvParameters): Promise<void> {
  const env = params.env ?? process.env;
  const arn = env[params.arnVariable];
  if (!arn) throw new Error(`${params.arnVariable} is not set: cannot load ${params.targets.join(', ')}`);
  const client = params.client ?? new SecretsManagerClient({});
  const { SecretString } = await client.send(new GetSecretValueCommand({ SecretId: arn }));
  const text = SecretString?.trim();
  if (!text) throw new Error(`secret ${arn} has no string value: put ${params.targets.join(', ')} into it`);

  const object = parseJsonObject(text);
  if (object === undefined) {
    if (params.targets.length !== 1) {
      throw new Error(`secret ${arn} must be a JSON object with ${params.targets.join(', ')}`);
    }
    env[params.targets[0]] = text;
    return;
  }
  const missing = params.targets.filter((key) => typeof object[key] !== 'string' || object[key] === '');
  if (missing.length > 0) throw new Error(`secret ${arn} lacks string values for ${missing.join(', ')}`);
  for (const key of params.targets) env[key] = object[key] as string;
}

function parseJsonObject(text: string): Record<string, unknown> | undefined {
  if (!text.startsWith('{')) return undefined;
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}
