import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import {
  type AgentConfig,
  CDP_ACCOUNT_NAME_PATTERN,
  CDP_ACCOUNT_NAME_RULE,
  type WalletConfig,
} from './config.ts';
import type { WalletProblem } from './wallet-gate.ts';

/** The keys the CDP secret must hold (each a non-empty string); `CDP_ACCOUNT_NAME` is optional. */
export const CDP_SECRET_KEYS = ['CDP_API_KEY_ID', 'CDP_API_KEY_SECRET', 'CDP_WALLET_SECRET'] as const;

class WalletProblemError extends Error {
  constructor(readonly problem: WalletProblem) {
    super(problem.message);
  }
}

/** In the cloud the CDP credentials live in Secrets Manager, never in plain environment variables. */
export async function resolveWallet(
  config: AgentConfig,
): Promise<Exclude<WalletConfig, { kind: 'cdp-secret' }>> {
  if (config.wallet.kind !== 'cdp-secret') return config.wallet;
  const { secretArn, kind: _kind, ...account } = config.wallet;
  const client = new SecretsManagerClient({ region: config.region });
  let text: string | undefined;
  try {
    text = (await client.send(new GetSecretValueCommand({ SecretId: secretArn }))).SecretString;
  } catch (error) {
    const name = error instanceof Error ? error.name : 'Error';
    throw new WalletProblemError({
      error: 'wallet_unavailable',
      missing: [],
      message: `CDP_SECRET_ARN: the agent could not read the CDP secret (${name}); check that it exists and that the runtime role may read it.`,
    });
  }
  let json: unknown;
  try {
    json = JSON.parse(text ?? '');
  } catch {
    json = undefined;
  }
  const record = json && typeof json === 'object' ? (json as Record<string, unknown>) : {};
  const value = (key: string) => (typeof record[key] === 'string' ? (record[key] as string).trim() : '');
  const missing = CDP_SECRET_KEYS.filter((key) => value(key) === '');
  if (missing.length > 0) {
    throw new WalletProblemError({
      error: 'wallet_not_configured',
      missing,
      message: `The agent's wallet is not configured: the CDP secret (CDP_SECRET_ARN) has no ${missing.join(', ')}. Put ${CDP_SECRET_KEYS.join(', ')} into it (aws secretsmanager put-secret-value); the next session uses them.`,
    });
  }
  const accountName = value('CDP_ACCOUNT_NAME');
  if (accountName && !CDP_ACCOUNT_NAME_PATTERN.test(accountName)) {
    throw new WalletProblemError({
      error: 'wallet_not_configured',
      missing: [],
      message: `The CDP secret's CDP_ACCOUNT_NAME ${CDP_ACCOUNT_NAME_RULE}.`,
    });
  }
  return {
    kind: 'cdp',
    apiKeyId: value('CDP_API_KEY_ID'),
    apiKeySecret: value('CDP_API_KEY_SECRET'),
    walletSecret: value('CDP_WALLET_SECRET'),
    ...account,
    ...(accountName ? { accountName } : {}),
  };
}

/** A CDP or wallet failure as the operator should read it (no secret material in it). */
export function walletFailure(error: unknown): WalletProblem {
  if (error instanceof WalletProblemError) return error.problem;
  const name = error instanceof Error ? error.name : 'Error';
  const status = (error as { statusCode?: unknown })?.statusCode;
  const type = (error as { errorType?: unknown })?.errorType;
  const detail = [
    name,
    typeof type === 'string' ? type : undefined,
    typeof status === 'number' ? `HTTP ${status}` : undefined,
  ]
    .filter(Boolean)
    .join(', ');
  return {
    error: 'wallet_unavailable',
    missing: [],
    message: `The agent could not open its wallet (${detail}); check the CDP credentials (CDP_API_KEY_ID, CDP_API_KEY_SECRET, CDP_WALLET_SECRET).`,
  };
}
