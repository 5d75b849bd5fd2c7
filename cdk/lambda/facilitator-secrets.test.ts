import type { GetSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { describe, expect, it } from 'vitest';
import { loadFacilitatorSecrets } from './facilitator-secrets.ts';
import type { SecretReader } from './secret-env.ts';

const arn = (name: string) => `arn:aws:secretsmanager:us-east-1:123456789012:secret:${name}-AbCdEf`;
const SETTLER = arn('settler');
const KEY = arn('authorizer-key');
const TOKEN = arn('authorizer-token');
const ENV = {
  FACILITATOR_PRIVATE_KEY_SECRET_ARN: SETTLER,
  FACILITATOR_RECEIVER_AUTHORIZER_KEY_SECRET_ARN: KEY,
  FACILITATOR_AUTHORIZER_TOKENS_SECRET_ARN: TOKEN,
};
const SETTLER_KEY = `0x${'1'.repeat(64)}`;
const AUTHORIZER_KEY = `0x${'2'.repeat(64)}`;
/** What the stack generates into the key secret at deploy (cdk/lib/facilitator-stack.ts). */
const PLACEHOLDER = JSON.stringify({ FACILITATOR_RECEIVER_AUTHORIZER_KEY: 'none', placeholder: 'Xy7...' });

function fakeSecrets(values: Record<string, string>): SecretReader & { asked: string[] } {
  const asked: string[] = [];
  return {
    asked,
    async send(command: GetSecretValueCommand) {
      const id = String(command.input.SecretId);
      asked.push(id);
      return { SecretString: values[id] };
    },
  };
}

describe('loadFacilitatorSecrets', () => {
  it('loads the settler key, the authorizer token and the authorizer key the operator put', async () => {
    const env: NodeJS.ProcessEnv = { ...ENV };
    const warnings: string[] = [];
    const client = fakeSecrets({
      [SETTLER]: SETTLER_KEY,
      [TOKEN]: 'generated-token-0123456789',
      [KEY]: JSON.stringify({ FACILITATOR_RECEIVER_AUTHORIZER_KEY: AUTHORIZER_KEY }),
    });
    await loadFacilitatorSecrets({ env, client, warn: (line) => warnings.push(line) });
    expect(client.asked).toStrictEqual([SETTLER, TOKEN, KEY]);
    expect(env).toStrictEqual({
      ...ENV,
      FACILITATOR_PRIVATE_KEY: SETTLER_KEY,
      FACILITATOR_AUTHORIZER_TOKENS: 'generated-token-0123456789',
      FACILITATOR_RECEIVER_AUTHORIZER_KEY: AUTHORIZER_KEY,
    });
    expect(warnings).toStrictEqual([]);
  });

  it('keeps the authorizer off while the key secret holds the generated placeholder, with one line naming the secret', async () => {
    const env: NodeJS.ProcessEnv = { ...ENV };
    const warnings: string[] = [];
    await loadFacilitatorSecrets({
      env,
      client: fakeSecrets({
        [SETTLER]: SETTLER_KEY,
        [TOKEN]: 'generated-token-0123456789',
        [KEY]: PLACEHOLDER,
      }),
      warn: (line) => warnings.push(line),
    });
    expect(env.FACILITATOR_RECEIVER_AUTHORIZER_KEY).toBe('none');
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(
      /^batch_settlement_authorizer_off: secret .*authorizer-key-AbCdEf holds the placeholder "none"/,
    );
    expect(warnings[0]).not.toContain('generated-token');
  });

  it('the facilitator parses the placeholder as "no authorizer" and the loaded key as its authorizer', async () => {
    const { loadFacilitatorConfig } = await import('../../packages/facilitator/src/config.ts');
    const base = {
      FACILITATOR_NETWORK: 'base-sepolia',
      FACILITATOR_RPC_URL: 'https://sepolia.base.org',
      FACILITATOR_PRIVATE_KEY: `0x${'7'.repeat(64)}`,
      FACILITATOR_AUTHORIZER_TOKENS: 'generated-token-0123456789',
    };
    expect(
      loadFacilitatorConfig({ ...base, FACILITATOR_RECEIVER_AUTHORIZER_KEY: 'none' }).batchSettlement,
    ).toStrictEqual({ receiverAuthorizerKey: undefined, authorizerTokens: ['generated-token-0123456789'] });
    expect(
      loadFacilitatorConfig({ ...base, FACILITATOR_RECEIVER_AUTHORIZER_KEY: `0x${'8'.repeat(64)}` })
        .batchSettlement?.receiverAuthorizerKey,
    ).toBe(`0x${'8'.repeat(64)}`);
  });

  it('reads only the settler key when no batch-settlement secrets are configured', async () => {
    const env: NodeJS.ProcessEnv = { FACILITATOR_PRIVATE_KEY_SECRET_ARN: SETTLER };
    const client = fakeSecrets({ [SETTLER]: SETTLER_KEY });
    await loadFacilitatorSecrets({ env, client, warn: () => {} });
    expect(client.asked).toStrictEqual([SETTLER]);
    expect(env).toStrictEqual({
      FACILITATOR_PRIVATE_KEY_SECRET_ARN: SETTLER,
      FACILITATOR_PRIVATE_KEY: SETTLER_KEY,
    });
  });

  it('fails on an empty token secret, naming the secret and not the other values', async () => {
    const env: NodeJS.ProcessEnv = { ...ENV };
    await expect(
      loadFacilitatorSecrets({
        env,
        client: fakeSecrets({ [SETTLER]: SETTLER_KEY, [TOKEN]: '  ', [KEY]: PLACEHOLDER }),
        warn: () => {},
      }),
    ).rejects.toThrow(`secret ${TOKEN} has no string value: put FACILITATOR_AUTHORIZER_TOKENS into it`);
  });
});
