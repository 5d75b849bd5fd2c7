import type { GetSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { describe, expect, it } from 'vitest';
import { loadSecretIntoEnv, type SecretReader } from './secret-env.ts';

const ARN = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:settler-AbCdEf';

function fakeSecrets(secretString: string | undefined): SecretReader & { asked: string[] } {
  const asked: string[] = [];
  return {
    asked,
    async send(command: GetSecretValueCommand) {
      asked.push(String(command.input.SecretId));
      return { SecretString: secretString };
    },
  };
}

describe('loadSecretIntoEnv', () => {
  describe('when the secret is a plain string and one target is asked', () => {
    it('reads the secret named by the ARN variable and sets the target', async () => {
      const env: NodeJS.ProcessEnv = { KEY_ARN: ARN };
      const client = fakeSecrets('  0xabc123  ');
      await loadSecretIntoEnv({ arnVariable: 'KEY_ARN', targets: ['PRIVATE_KEY'], env, client });
      expect(client.asked).toStrictEqual([ARN]);
      expect(env).toStrictEqual({ KEY_ARN: ARN, PRIVATE_KEY: '0xabc123' });
    });
  });

  describe('when the secret is a JSON object', () => {
    it('sets every target from its key', async () => {
      const env: NodeJS.ProcessEnv = { CDP_SECRET_ARN: ARN };
      const client = fakeSecrets(
        JSON.stringify({ CDP_API_KEY_ID: 'id-1', CDP_API_KEY_SECRET: 's3cr3t', OTHER: 'x' }),
      );
      await loadSecretIntoEnv({
        arnVariable: 'CDP_SECRET_ARN',
        targets: ['CDP_API_KEY_ID', 'CDP_API_KEY_SECRET'],
        env,
        client,
      });
      expect(env).toStrictEqual({
        CDP_SECRET_ARN: ARN,
        CDP_API_KEY_ID: 'id-1',
        CDP_API_KEY_SECRET: 's3cr3t',
      });
    });

    it('names the missing keys without echoing any value', async () => {
      const env: NodeJS.ProcessEnv = { CDP_SECRET_ARN: ARN };
      const client = fakeSecrets(JSON.stringify({ CDP_API_KEY_ID: 'id-1', CDP_API_KEY_SECRET: '' }));
      const error = await loadSecretIntoEnv({
        arnVariable: 'CDP_SECRET_ARN',
        targets: ['CDP_API_KEY_ID', 'CDP_API_KEY_SECRET'],
        env,
        client,
      }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(Error);
      expect((error as Error).message).toBe(`secret ${ARN} lacks string values for CDP_API_KEY_SECRET`);
      expect((error as Error).message).not.toContain('id-1');
      expect(env).toStrictEqual({ CDP_SECRET_ARN: ARN });
    });
  });

  describe('when several targets are asked of a plain string secret', () => {
    it('refuses and sets nothing', async () => {
      const env: NodeJS.ProcessEnv = { CDP_SECRET_ARN: ARN };
      await expect(
        loadSecretIntoEnv({
          arnVariable: 'CDP_SECRET_ARN',
          targets: ['A', 'B'],
          env,
          client: fakeSecrets('not-json'),
        }),
      ).rejects.toThrow(`secret ${ARN} must be a JSON object with A, B`);
      expect(env).toStrictEqual({ CDP_SECRET_ARN: ARN });
    });
  });

  describe('when the ARN variable is unset', () => {
    it('fails before calling Secrets Manager', async () => {
      const client = fakeSecrets('x');
      await expect(
        loadSecretIntoEnv({ arnVariable: 'KEY_ARN', targets: ['K'], env: {}, client }),
      ).rejects.toThrow('KEY_ARN is not set: cannot load K');
      expect(client.asked).toStrictEqual([]);
    });
  });

  describe('when the secret has no string value', () => {
    it('says what to put into it', async () => {
      await expect(
        loadSecretIntoEnv({
          arnVariable: 'KEY_ARN',
          targets: ['K'],
          env: { KEY_ARN: ARN },
          client: fakeSecrets(undefined),
        }),
      ).rejects.toThrow(`secret ${ARN} has no string value: put K into it`);
    });
  });
});
