import { isAppError } from '@agentic-payments/x402';
import { describe, expect, it } from 'vitest';
import { loadGatewayConfig } from './config.ts';

const SELLER = '0x90F79bf6EB2c4f870365E785982E1f101E93b906';

describe('loadGatewayConfig', () => {
  it('applies the local defaults', () => {
    expect(loadGatewayConfig({ SELLER_ADDRESS: SELLER.toLowerCase() })).toStrictEqual({
      GATEWAY_PORT: 4021,
      SELLER_ADDRESS: SELLER,
      NETWORK: 'devnet',
      FACILITATOR_URL: 'http://127.0.0.1:4022',
      FACILITATOR_KIND: 'ours',
      PAYMENT_TABLE: 'payments',
      DATA_DIR: '.data',
      IMAGE_GENERATOR: 'local',
      IMAGE_DELIVERY: 'inline',
      AWS_REGION: 'us-east-1',
      BATCH_SETTLEMENT: 'on',
      CHANNEL_CLAIM_INTERVAL_SECONDS: 60,
      CHANNEL_WITHDRAW_DELAY_SECONDS: 900,
    });
  });

  it('refuses a channel withdraw delay outside the spec’s 15 minutes to 30 days', () => {
    expect(() => loadGatewayConfig({ SELLER_ADDRESS: SELLER, CHANNEL_WITHDRAW_DELAY_SECONDS: '60' })).toThrow(
      /CHANNEL_WITHDRAW_DELAY_SECONDS/,
    );
  });

  it('names every wrong variable in one error', () => {
    let caught: unknown;
    try {
      loadGatewayConfig({
        SELLER_ADDRESS: 'nope',
        GATEWAY_PORT: '99999',
        NETWORK: 'mainnet',
        FACILITATOR_KIND: 'cdp',
        IMAGE_URL_SECRET: 'short',
      });
    } catch (error) {
      caught = error;
    }
    expect(isAppError(caught) && caught.details).toStrictEqual({
      variables: ['GATEWAY_PORT', 'SELLER_ADDRESS', 'NETWORK', 'IMAGE_URL_SECRET'],
    });
    expect(String(caught)).toMatch(/SELLER_ADDRESS/);
  });

  it('requires CDP credentials when the CDP facilitator is chosen', () => {
    expect(() => loadGatewayConfig({ SELLER_ADDRESS: SELLER, FACILITATOR_KIND: 'cdp' })).toThrow(
      /CDP_API_KEY_ID: required when FACILITATOR_KIND=cdp; CDP_API_KEY_SECRET/,
    );
  });
});
