import { describe, expect, it } from 'vitest';
import { ConfigError, loadStartConfig } from './config.ts';

describe('loadStartConfig', () => {
  describe('with an empty environment', () => {
    it('runs the local devnet stack on the documented ports under <root>/.data', () => {
      const config = loadStartConfig({}, '/repo');
      expect(config).toMatchObject({
        DATA_DIR: '/repo/.data',
        NETWORK: 'devnet',
        DEVNET_PORT: 8545,
        EXPLORER_PORT: 4000,
        FACILITATOR_PORT: 4022,
        GATEWAY_PORT: 4021,
        AGENT_PORT: 8080,
        WS_PORT: 3001,
        AGENT_MODEL: 'offline-planner',
        IMAGE_GENERATOR: 'local',
        MAX_PAYMENT_USDC: '0.10',
        SESSION_BUDGET_USDC: '1.00',
      });
    });
  });

  describe('when several variables are wrong', () => {
    it('names every one of them', () => {
      const run = () =>
        loadStartConfig(
          { GATEWAY_PORT: 'eighty', AGENT_MODEL: 'gpt', MAX_PAYMENT_USDC: '0.1234567' },
          '/repo',
        );
      expect(run).toThrow(ConfigError);
      expect(run).toThrow(/GATEWAY_PORT/);
      expect(run).toThrow(/AGENT_MODEL/);
      expect(run).toThrow(/MAX_PAYMENT_USDC/);
    });
  });

  describe('when NETWORK=base-sepolia', () => {
    it('requires the chain, seller, payer and a facilitator', () => {
      const run = () => loadStartConfig({ NETWORK: 'base-sepolia' }, '/repo');
      for (const name of ['RPC_URL', 'SELLER_ADDRESS', 'AGENT_PRIVATE_KEY', 'FACILITATOR_URL']) {
        expect(run).toThrow(new RegExp(name));
      }
    });

    it('accepts a complete configuration', () => {
      const config = loadStartConfig(
        {
          NETWORK: 'base-sepolia',
          RPC_URL: 'https://sepolia.base.org',
          SELLER_ADDRESS: `0x${'ab'.repeat(20)}`,
          AGENT_PRIVATE_KEY: `0x${'11'.repeat(32)}`,
          FACILITATOR_URL: 'https://x402.org/facilitator',
        },
        '/repo',
      );
      expect(config.NETWORK).toBe('base-sepolia');
    });
  });
});
