import { NETWORKS } from '@agentic-payments/x402';
import { describe, expect, it } from 'vitest';
import {
  evaluatePayment,
  type PaymentIntent,
  type SpendingPolicy,
  type SpendingState,
} from './spending-policy.ts';

const SELLER = '0x90F79bf6EB2c4f870365E785982E1f101E93b906';
const policy: SpendingPolicy = {
  network: NETWORKS.devnet,
  sellerAddress: SELLER,
  maxPayment: 100_000n,
  sessionBudget: 1_000_000n,
  walletBudget24h: 2_000_000n,
};

function buildIntent(overrides: Partial<PaymentIntent> = {}): PaymentIntent {
  return {
    amount: 40_000n,
    payTo: SELLER,
    asset: NETWORKS.devnet.usdcAddress,
    network: 'eip155:84532',
    chainId: 84532,
    ...overrides,
  };
}
function buildState(overrides: Partial<SpendingState> = {}): SpendingState {
  return { authorizedAmount: 40_000n, spent: 0n, ...overrides };
}
const reasonOf = (state: SpendingState, intent: PaymentIntent) => {
  const decision = evaluatePayment(policy, state, intent);
  return decision.allowed ? 'allowed' : decision.reason;
};

describe('evaluatePayment', () => {
  it('allows the authorized estimate to the seller in USDC on the configured network', () => {
    expect(evaluatePayment(policy, buildState(), buildIntent())).toStrictEqual({ allowed: true });
    expect(
      reasonOf(buildState(), buildIntent({ network: 'base-sepolia', payTo: SELLER.toLowerCase() })),
    ).toBe('allowed');
  });

  it.each([
    ['not_authorized', buildState({ authorizedAmount: undefined }), buildIntent()],
    ['amount_exceeds_authorization', buildState(), buildIntent({ amount: 40_001n })],
    ['pay_to_not_seller', buildState(), buildIntent({ payTo: '0x000000000000000000000000000000000000dEaD' })],
    ['asset_not_usdc', buildState(), buildIntent({ asset: '0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913' })],
    ['network_mismatch', buildState(), buildIntent({ network: 'eip155:8453' })],
    ['network_mismatch', buildState(), buildIntent({ chainId: 8453 })],
    [
      'amount_exceeds_payment_cap',
      buildState({ authorizedAmount: 5_000_000n }),
      buildIntent({ amount: 5_000_000n }),
    ],
    ['session_budget_exceeded', buildState({ spent: 980_000n }), buildIntent()],
    ['wallet_budget_exceeded', buildState({ walletSpent24h: 1_980_000n }), buildIntent()],
    ['invalid_amount', buildState(), buildIntent({ amount: 0n })],
  ] as const)('rejects with %s', (reason, state, intent) => {
    const decision = evaluatePayment(policy, state, intent);
    expect(decision.allowed).toBe(false);
    expect(decision.allowed ? undefined : decision.reason).toBe(reason);
  });

  it('allows spending exactly up to the session budget', () => {
    expect(reasonOf(buildState({ spent: 960_000n }), buildIntent())).toBe('allowed');
  });

  it('allows spending exactly up to the wallet 24-hour budget', () => {
    expect(reasonOf(buildState({ walletSpent24h: 1_960_000n }), buildIntent())).toBe('allowed');
  });

  it('names the limit and the amounts when the wallet 24-hour budget would be exceeded', () => {
    expect(evaluatePayment(policy, buildState({ walletSpent24h: 1_980_000n }), buildIntent())).toStrictEqual({
      allowed: false,
      reason: 'wallet_budget_exceeded',
      message: 'the wallet has spent 1.98 of its 2 USDC 24-hour budget; 0.04 more would exceed it',
    });
  });
});
