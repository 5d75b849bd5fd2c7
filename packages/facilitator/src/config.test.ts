import { describe, expect, it } from 'vitest';
import { ConfigError, loadFacilitatorConfig } from './config.ts';

// anvil account 2 (the devnet settler) and a key that is not from the well-known mnemonic.
const DEVNET_KEY = '0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a';
const OTHER_KEY = `0x${'42'.repeat(32)}`;

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
});
