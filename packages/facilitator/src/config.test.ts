import { describe, expect, it } from 'vitest';
import { ConfigError, loadFacilitatorConfig } from './config.ts';

// anvil account 2 (the devnet settler) and a key that is not from the well-known mnemonic.
const DEVNET_KEY = '0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a';
const OTHER_KEY = `0x${'42'.repeat(32)}`;
// anvil account 4: the devnet's batch-settlement receiver authorizer.
const DEVNET_AUTHORIZER_KEY = '0x47e179ec197488593b187f80a00eb0da91f1b9d0b13f8733639f19c30a34926a';
const PUBLIC = {
  FACILITATOR_RPC_URL: 'https://sepolia.base.org',
  FACILITATOR_NETWORK: 'base-sepolia',
  FACILITATOR_PRIVATE_KEY: OTHER_KEY,
};

describe('loadFacilitatorConfig', () => {
  it('defaults to the devnet on a loopback RPC with the devnet settler key', () => {
    const config = loadFacilitatorConfig({});
    expect(config).toStrictEqual({
      rpcUrl: 'http://127.0.0.1:8545',
      network: 'devnet',
      privateKeys: [DEVNET_KEY],
      port: 4022,
      host: '127.0.0.1',
      receiptTimeoutMs: 15_000,
      pollingIntervalMs: 20,
      gasLimit: 200_000n,
      batchSettlement: { receiverAuthorizerKey: DEVNET_AUTHORIZER_KEY, authorizerTokens: undefined },
    });
  });

  it('reads every variable and accepts several comma-separated keys', () => {
    const config = loadFacilitatorConfig({
      FACILITATOR_RPC_URL: 'https://sepolia.base.org',
      FACILITATOR_NETWORK: 'base-sepolia',
      FACILITATOR_PRIVATE_KEY: `${OTHER_KEY}, 0x${'43'.repeat(32)}`,
      FACILITATOR_PORT: '0',
      FACILITATOR_RECEIPT_TIMEOUT_MS: '2500',
    });
    expect(config).toMatchObject({
      network: 'base-sepolia',
      privateKeys: [OTHER_KEY, `0x${'43'.repeat(32)}`],
      port: 0,
      receiptTimeoutMs: 2500,
      pollingIntervalMs: 250,
      gasLimit: undefined,
    });
  });

  it('reports every wrong variable by name', () => {
    expect(() =>
      loadFacilitatorConfig({
        FACILITATOR_RPC_URL: 'not a url',
        FACILITATOR_NETWORK: 'mainnet',
        FACILITATOR_PRIVATE_KEY: '0x1234',
        FACILITATOR_PORT: '70000',
      }),
    ).toThrow(/FACILITATOR_RPC_URL.*FACILITATOR_NETWORK.*FACILITATOR_PRIVATE_KEY.*FACILITATOR_PORT/);
  });

  it('refuses a well-known devnet key on a public network', () => {
    expect(() =>
      loadFacilitatorConfig({
        FACILITATOR_RPC_URL: 'https://sepolia.base.org',
        FACILITATOR_NETWORK: 'base-sepolia',
        FACILITATOR_PRIVATE_KEY: DEVNET_KEY,
      }),
    ).toThrow(ConfigError);
  });

  it('refuses the devnet over a non-loopback RPC', () => {
    expect(() => loadFacilitatorConfig({ FACILITATOR_RPC_URL: 'https://sepolia.base.org' })).toThrow(
      /loopback/,
    );
  });

  it('requires a key on a public network', () => {
    expect(() =>
      loadFacilitatorConfig({ FACILITATOR_RPC_URL: 'https://mainnet.base.org', FACILITATOR_NETWORK: 'base' }),
    ).toThrow(/FACILITATOR_PRIVATE_KEY/);
  });

  describe('batch-settlement', () => {
    it('is served with no receiver authorizer by default on a public network', () => {
      expect(loadFacilitatorConfig(PUBLIC).batchSettlement).toStrictEqual({
        receiverAuthorizerKey: undefined,
        authorizerTokens: undefined,
      });
    });

    it('is turned off with FACILITATOR_BATCH_SETTLEMENT=off', () => {
      expect(loadFacilitatorConfig({ FACILITATOR_BATCH_SETTLEMENT: 'off' }).batchSettlement).toBeUndefined();
    });

    it('offers no receiver authorizer on the devnet with FACILITATOR_RECEIVER_AUTHORIZER_KEY=none', () => {
      expect(
        loadFacilitatorConfig({ FACILITATOR_RECEIVER_AUTHORIZER_KEY: 'none' }).batchSettlement,
      ).toStrictEqual({ receiverAuthorizerKey: undefined, authorizerTokens: undefined });
    });

    it('takes an authorizer key with its tokens on a public network', () => {
      const tokens = 'gateway-token-0123456789, second-token-abcdefgh';
      const config = loadFacilitatorConfig({
        ...PUBLIC,
        FACILITATOR_RECEIVER_AUTHORIZER_KEY: `0x${'44'.repeat(32)}`,
        FACILITATOR_AUTHORIZER_TOKENS: tokens,
      });
      expect(config.batchSettlement).toStrictEqual({
        receiverAuthorizerKey: `0x${'44'.repeat(32)}`,
        authorizerTokens: ['gateway-token-0123456789', 'second-token-abcdefgh'],
      });
    });

    it('refuses an authorizer key without tokens on a public network (the spec: authenticate refunds)', () => {
      expect(() =>
        loadFacilitatorConfig({ ...PUBLIC, FACILITATOR_RECEIVER_AUTHORIZER_KEY: `0x${'44'.repeat(32)}` }),
      ).toThrow(/FACILITATOR_AUTHORIZER_TOKENS/);
    });

    it('refuses the devnet authorizer key on a public network', () => {
      expect(() =>
        loadFacilitatorConfig({
          ...PUBLIC,
          FACILITATOR_RECEIVER_AUTHORIZER_KEY: DEVNET_AUTHORIZER_KEY,
          FACILITATOR_AUTHORIZER_TOKENS: 'gateway-token-0123456789',
        }),
      ).toThrow(/FACILITATOR_RECEIVER_AUTHORIZER_KEY/);
    });

    it('reports a malformed key, a short token and an unknown switch by name', () => {
      expect(() =>
        loadFacilitatorConfig({
          FACILITATOR_BATCH_SETTLEMENT: 'yes',
          FACILITATOR_RECEIVER_AUTHORIZER_KEY: '0x12',
          FACILITATOR_AUTHORIZER_TOKENS: 'short',
        }),
      ).toThrow(
        /FACILITATOR_BATCH_SETTLEMENT.*FACILITATOR_RECEIVER_AUTHORIZER_KEY.*FACILITATOR_AUTHORIZER_TOKENS/,
      );
    });
  });
});
