import { isAppError } from '@agentic-payments/x402';
import { describe, expect, it } from 'vitest';
import { DEVNET_AGENT_KEY, DEVNET_SELLER_ADDRESS, loadConfig } from './config.ts';

function problemsOf(env: Record<string, string>): string[] {
  try {
    loadConfig(env);
  } catch (error) {
    if (isAppError(error)) return (error.details?.problems as string[]) ?? [];
    throw error;
  }
  return [];
}

describe('loadConfig', () => {
  it('defaults to the devnet, the offline planner, auto consent and the seed limits', () => {
    const config = loadConfig({});
    expect(config.port).toBe(8080);
    expect(config.network.id).toBe('devnet');
    expect(config.model).toStrictEqual({ kind: 'offline-planner' });
    expect(config.maxPayment).toBe(100_000n);
    expect(config.sessionBudget).toBe(1_000_000n);
    expect(config.consentMode).toBe('auto');
    expect(config.wallet).toStrictEqual({ kind: 'private-key', privateKey: DEVNET_AGENT_KEY });
    expect(config.sellerAddress).toBe(DEVNET_SELLER_ADDRESS);
    expect(config.memory).toStrictEqual({ kind: 'file', dataDir: '.data' });
  });

  it('names every wrong variable at once', () => {
    const problems = problemsOf({
      AGENT_PORT: 'eighty',
      MAX_PAYMENT_USDC: '-1',
      SESSION_BUDGET_USDC: '0.1234567',
      CONSENT_MODE: 'maybe',
      AGENT_MODEL: 'gpt',
      SELLER_ADDRESS: '0x123',
    });
    for (const name of [
      'AGENT_PORT',
      'MAX_PAYMENT_USDC',
      'SESSION_BUDGET_USDC',
      'CONSENT_MODE',
      'AGENT_MODEL',
      'SELLER_ADDRESS',
    ]) {
      expect(problems.some((p) => p.startsWith(`${name}:`))).toBe(true);
    }
  });

  describe('the wallet 24-hour budget', () => {
    it('defaults to 5 USDC in a file under DATA_DIR', () => {
      const config = loadConfig({});
      expect([config.walletBudget24h, config.walletBudgetStore]).toStrictEqual([
        5_000_000n,
        { kind: 'file' },
      ]);
    });

    it('reads WALLET_BUDGET_24H_USDC and WALLET_BUDGET_TABLE', () => {
      const config = loadConfig({
        WALLET_BUDGET_24H_USDC: '2.5',
        WALLET_BUDGET_TABLE: 'budget',
        AWS_REGION: 'eu-west-1',
      });
      expect([config.walletBudget24h, config.walletBudgetStore]).toStrictEqual([
        2_500_000n,
        { kind: 'dynamodb', tableName: 'budget', region: 'eu-west-1' },
      ]);
    });

    it.each([
      [{ WALLET_BUDGET_24H_USDC: '0' }, 'WALLET_BUDGET_24H_USDC'],
      [{ WALLET_BUDGET_24H_USDC: 'lots' }, 'WALLET_BUDGET_24H_USDC'],
      [{ WALLET_BUDGET_24H_USDC: '0.05' }, 'MAX_PAYMENT_USDC'],
    ])('names the variable for %j', (env, name) => {
      expect(problemsOf(env).map((p) => p.split(':')[0])).toStrictEqual([name]);
    });
  });

  it('refuses a devnet key for a non-loopback RPC', () => {
    const problems = problemsOf({
      RPC_URL: 'https://sepolia.base.org',
      AGENT_PRIVATE_KEY: DEVNET_AGENT_KEY,
      SELLER_ADDRESS: DEVNET_SELLER_ADDRESS,
    });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^AGENT_PRIVATE_KEY: /);
  });

  it('requires a wallet and a seller off the devnet', () => {
    const problems = problemsOf({ RPC_URL: 'https://sepolia.base.org', NETWORK: 'base-sepolia' });
    expect(problems.map((p) => p.split(':')[0])).toStrictEqual(['AGENT_PRIVATE_KEY', 'SELLER_ADDRESS']);
  });

  it('requires all three CDP credentials together', () => {
    const problems = problemsOf({ CDP_API_KEY_ID: 'id' });
    expect(problems.map((p) => p.split(':')[0])).toStrictEqual(['CDP_API_KEY_SECRET', 'CDP_WALLET_SECRET']);
  });

  it('uses AgentCore Memory and Bedrock when configured', () => {
    const config = loadConfig({
      MEMORY_ID: 'mem-1',
      AGENT_MODEL: 'bedrock',
      AWS_REGION: 'us-west-2',
      BEDROCK_MODEL_ID: 'arn:profile',
    });
    expect(config.memory).toStrictEqual({ kind: 'agentcore', memoryId: 'mem-1', region: 'us-west-2' });
    expect(config.model).toStrictEqual({ kind: 'bedrock', modelId: 'arn:profile', region: 'us-west-2' });
  });

  it('gives the image analyzer the configured Claude model (IMAGE_ANALYZER_MODEL_ID, else BEDROCK_MODEL_ID)', () => {
    const profile = 'eu.anthropic.claude-sonnet-4-5-20250929-v1:0';
    expect(loadConfig({ IMAGE_ANALYZER: 'bedrock', BEDROCK_MODEL_ID: profile }).analyzerModelId).toBe(
      profile,
    );
    expect(
      loadConfig({ BEDROCK_MODEL_ID: profile, IMAGE_ANALYZER_MODEL_ID: 'eu.anthropic.claude-haiku' })
        .analyzerModelId,
    ).toBe('eu.anthropic.claude-haiku');
  });

  it('names one CDP account per deployment (CDP_ACCOUNT_NAME, checked against CDP rules)', () => {
    const creds = { CDP_API_KEY_ID: 'id', CDP_API_KEY_SECRET: 'secret', CDP_WALLET_SECRET: 'wallet' };
    expect(loadConfig(creds).wallet).toStrictEqual({
      kind: 'cdp',
      apiKeyId: 'id',
      apiKeySecret: 'secret',
      walletSecret: 'wallet',
      accountName: 'x402-image-agent',
    });
    expect(loadConfig({ CDP_SECRET_ARN: 'arn:s', CDP_ACCOUNT_NAME: 'prod-agent-1' }).wallet).toStrictEqual({
      kind: 'cdp-secret',
      secretArn: 'arn:s',
      accountName: 'prod-agent-1',
    });
    expect(problemsOf({ ...creds, CDP_ACCOUNT_NAME: 'no spaces allowed' })[0]).toMatch(/^CDP_ACCOUNT_NAME: /);
  });
  describe('the payment scheme', () => {
    it('defaults to exact (the seed flow) with a 10-minute idle refund for sessions', () => {
      const config = loadConfig({});
      expect([config.paymentScheme, config.sessionIdleRefundMs]).toStrictEqual(['exact', 600_000]);
    });

    it('opts in to batch-settlement with PAYMENT_SCHEME and reads SESSION_IDLE_REFUND_SECONDS', () => {
      const config = loadConfig({ PAYMENT_SCHEME: 'batch-settlement', SESSION_IDLE_REFUND_SECONDS: '120' });
      expect([config.paymentScheme, config.sessionIdleRefundMs]).toStrictEqual(['batch-settlement', 120_000]);
    });

    it('names an unknown scheme or a bad idle time', () => {
      const problems = problemsOf({ PAYMENT_SCHEME: 'upto', SESSION_IDLE_REFUND_SECONDS: '0' });
      expect(problems.map((p) => p.split(':')[0])).toStrictEqual([
        'PAYMENT_SCHEME',
        'SESSION_IDLE_REFUND_SECONDS',
      ]);
    });
  });
});
