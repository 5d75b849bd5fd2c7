import { NETWORKS } from '@agentic-payments/x402';
import { describe, expect, it } from 'vitest';
import {
  type ChannelContracts,
  type ChannelSpendingState,
  type DepositIntent,
  evaluateDeposit,
  evaluatePayment,
  evaluateVoucher,
  type PaymentIntent,
  type SpendingPolicy,
  type SpendingState,
  type VoucherIntent,
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

const contracts: ChannelContracts = {
  channel: '0x4020074e9dF2ce1deE5A9C1b5c3f541D02a10003',
  depositCollector: '0x4020806089470a89826cB9fB1f4059150b550004',
};
const CHANNEL = `0x${'c1'.repeat(32)}` as const;

function buildChannelState(overrides: Partial<ChannelSpendingState> = {}): ChannelSpendingState {
  return {
    authorizedAmount: 40_000n,
    channelId: CHANNEL,
    charged: 0n,
    deposited: 0n,
    signedMax: 0n,
    mode: 'purchase',
    ...overrides,
  };
}
function buildDeposit(overrides: Partial<DepositIntent> = {}): DepositIntent {
  return {
    amount: 1_000_000n,
    to: contracts.depositCollector,
    asset: NETWORKS.devnet.usdcAddress,
    chainId: 84532,
    ...overrides,
  };
}
function buildVoucher(overrides: Partial<VoucherIntent> = {}): VoucherIntent {
  return {
    channelId: CHANNEL,
    cumulative: 40_000n,
    chainId: 84532,
    verifyingContract: contracts.channel,
    ...overrides,
  };
}
const depositReason = (state: ChannelSpendingState, intent: DepositIntent) => {
  const decision = evaluateDeposit(policy, contracts, state, intent);
  return decision.allowed ? 'allowed' : decision.reason;
};
const voucherReason = (state: ChannelSpendingState, intent: VoucherIntent) => {
  const decision = evaluateVoucher(policy, contracts, state, intent);
  return decision.allowed ? 'allowed' : decision.reason;
};

describe('evaluateDeposit', () => {
  it('allows depositing the whole session budget into the collector for an authorized purchase', () => {
    expect(depositReason(buildChannelState(), buildDeposit())).toBe('allowed');
  });

  it.each([
    ['session_budget_exceeded', buildChannelState(), buildDeposit({ amount: 1_000_001n })],
    [
      'session_budget_exceeded',
      buildChannelState({ deposited: 960_000n }),
      buildDeposit({ amount: 80_000n }),
    ],
    ['not_authorized', buildChannelState({ authorizedAmount: undefined }), buildDeposit()],
    ['not_authorized', buildChannelState({ mode: 'refund' }), buildDeposit()],
    ['deposit_not_to_collector', buildChannelState(), buildDeposit({ to: SELLER })],
    [
      'asset_not_usdc',
      buildChannelState(),
      buildDeposit({ asset: '0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913' }),
    ],
    ['network_mismatch', buildChannelState(), buildDeposit({ chainId: 8453 })],
    ['invalid_amount', buildChannelState(), buildDeposit({ amount: 0n })],
  ] as const)('rejects with %s', (reason, state, intent) => {
    expect(depositReason(state, intent)).toBe(reason);
  });
});

describe('evaluateVoucher', () => {
  describe('for a purchase', () => {
    it('allows raising the ceiling by the authorized price over what the session was charged', () => {
      expect(voucherReason(buildChannelState({ deposited: 1_000_000n }), buildVoucher())).toBe('allowed');
      expect(
        voucherReason(
          buildChannelState({ deposited: 1_000_000n, charged: 920_000n, signedMax: 920_000n }),
          buildVoucher({ cumulative: 960_000n }),
        ),
      ).toBe('allowed');
    });

    it.each([
      [
        'amount_exceeds_payment_cap',
        buildChannelState({ authorizedAmount: 150_000n, deposited: 1_000_000n }),
        buildVoucher({ cumulative: 150_000n }),
      ],
      [
        'session_budget_exceeded',
        buildChannelState({ charged: 980_000n, deposited: 1_000_000n }),
        buildVoucher({ cumulative: 1_020_000n }),
      ],
      [
        // A base the seller moved up (or a client that lost count) asks for more than the price.
        'amount_exceeds_authorization',
        buildChannelState({ charged: 40_000n, deposited: 1_000_000n }),
        buildVoucher({ cumulative: 120_000n }),
      ],
      [
        'not_authorized',
        buildChannelState({ authorizedAmount: undefined, deposited: 1_000_000n }),
        buildVoucher(),
      ],
      ['voucher_exceeds_deposit', buildChannelState({ deposited: 20_000n }), buildVoucher()],
      ['invalid_amount', buildChannelState({ charged: 40_000n, deposited: 1_000_000n }), buildVoucher()],
      [
        'unexpected_channel',
        buildChannelState({ deposited: 1_000_000n }),
        buildVoucher({ channelId: `0x${'99'.repeat(32)}` }),
      ],
      [
        'unexpected_channel',
        buildChannelState({ channelId: undefined, deposited: 1_000_000n }),
        buildVoucher(),
      ],
      [
        'unexpected_channel',
        buildChannelState({ deposited: 1_000_000n }),
        buildVoucher({ verifyingContract: SELLER }),
      ],
      ['network_mismatch', buildChannelState({ deposited: 1_000_000n }), buildVoucher({ chainId: 8453 })],
    ] as const)('rejects with %s', (reason, state, intent) => {
      expect(voucherReason(state, intent)).toBe(reason);
    });

    it('names the cap and the amounts when the increment is over the per-payment cap', () => {
      expect(
        evaluateVoucher(
          policy,
          contracts,
          buildChannelState({ authorizedAmount: 150_000n, deposited: 1_000_000n, charged: 40_000n }),
          buildVoucher({ cumulative: 190_000n }),
        ),
      ).toStrictEqual({
        allowed: false,
        reason: 'amount_exceeds_payment_cap',
        message: 'amount 0.15 USDC exceeds the per-payment cap of 0.1 USDC',
      });
    });
  });

  describe('for a refund', () => {
    const refunding = buildChannelState({
      mode: 'refund',
      authorizedAmount: undefined,
      charged: 80_000n,
      signedMax: 80_000n,
    });

    it('allows the zero-charge voucher at the charged total, with nothing authorized', () => {
      expect(voucherReason(refunding, buildVoucher({ cumulative: 80_000n }))).toBe('allowed');
    });

    it('refuses a refund voucher that raises the signed ceiling', () => {
      expect(voucherReason(refunding, buildVoucher({ cumulative: 80_001n }))).toBe('refund_voucher_charges');
    });
  });
});
