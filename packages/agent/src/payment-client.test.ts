import { NETWORKS } from '@agentic-payments/x402';
import { encodePaymentRequiredHeader } from '@x402/core/http';
import type { PaymentRequired } from '@x402/core/types';
import { privateKeyToAccount } from 'viem/accounts';
import { describe, expect, it, vi } from 'vitest';
import {
  createGuardedSigner,
  createPaidFetch,
  PaymentFailedError,
  PaymentRefusedError,
} from './payment-client.ts';
import type { SpendingPolicy, SpendingState } from './spending-policy.ts';
import type { AgentWallet } from './wallet.ts';
import { createMemoryWalletBudgetStore, WalletBudget, type WalletBudgetStore } from './wallet-budget.ts';

const SELLER = '0x90F79bf6EB2c4f870365E785982E1f101E93b906';
const OTHER = '0x000000000000000000000000000000000000dEaD';
const account = privateKeyToAccount('0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d');
const policy: SpendingPolicy = {
  network: NETWORKS.devnet,
  sellerAddress: SELLER,
  maxPayment: 100_000n,
  sessionBudget: 1_000_000n,
  walletBudget24h: 2_000_000n,
};

function buildBudget(overrides: { cap?: bigint; store?: WalletBudgetStore } = {}) {
  return new WalletBudget(overrides.store ?? createMemoryWalletBudgetStore(), {
    walletKey: 'eip155:84532:test',
    cap: overrides.cap ?? policy.walletBudget24h,
  });
}

function buildWallet() {
  const signTypedData = vi.fn((typedData: Parameters<AgentWallet['signTypedData']>[0]) =>
    account.signTypedData(typedData as Parameters<typeof account.signTypedData>[0]),
  );
  const wallet: AgentWallet = {
    provider: 'test-wallet',
    address: account.address,
    signTypedData,
    balances: async () => ({ eth: 0n, usdc: 10_000_000n }),
  };
  return { wallet, signTypedData };
}

function buildPaymentRequired(overrides: { amount?: string; payTo?: string } = {}): PaymentRequired {
  return {
    x402Version: 2,
    resource: { url: 'http://127.0.0.1/generate_image', description: 'image', mimeType: 'application/json' },
    accepts: [
      {
        scheme: 'exact',
        network: 'eip155:84532',
        asset: NETWORKS.devnet.usdcAddress,
        amount: overrides.amount ?? '40000',
        payTo: overrides.payTo ?? SELLER,
        maxTimeoutSeconds: 300,
        extra: { name: 'USDC', version: '2' },
      },
    ],
  };
}

/** TEST ONLY: a seller that answers 402 with the given requirements, then `paid` (default 200) to any paid retry. */
function fakeSeller(
  required: PaymentRequired,
  paid: () => Response = () => new Response('{"status":"payment_settled"}', { status: 200 }),
) {
  const seen: Request[] = [];
  const fetchImpl = (async (input: string | URL | Request, init?: RequestInit) => {
    const request = new Request(input, init);
    seen.push(request);
    if (request.headers.get('PAYMENT-SIGNATURE')) return paid();
    return new Response('{}', {
      status: 402,
      headers: { 'PAYMENT-REQUIRED': encodePaymentRequiredHeader(required) },
    });
  }) as typeof fetch;
  return { fetchImpl, seen };
}

describe('createPaidFetch', () => {
  it('pays the authorized estimate with the official client, sending PAYMENT-SIGNATURE', async () => {
    const { wallet, signTypedData } = buildWallet();
    const seller = fakeSeller(buildPaymentRequired());
    const budget = buildBudget();
    const paidFetch = createPaidFetch({
      wallet,
      policy,
      budget,
      fetch: seller.fetchImpl,
      state: () => ({ authorizedAmount: 40_000n, spent: 0n }),
    });
    const response = await paidFetch('http://127.0.0.1/generate_image', { method: 'POST', body: '{}' });
    expect(response.status).toBe(200);
    expect(await budget.status()).toStrictEqual({ cap: 2_000_000n, spent: 40_000n, remaining: 1_960_000n });
    expect(signTypedData).toHaveBeenCalledTimes(1);
    expect(signTypedData.mock.calls[0]?.[0].primaryType).toBe('TransferWithAuthorization');
    expect(seller.seen.map((r) => Boolean(r.headers.get('PAYMENT-SIGNATURE')))).toStrictEqual([false, true]);
  });

  it.each([
    [
      'a higher price than the authorized estimate (bait and switch)',
      { amount: '80000' },
      { authorizedAmount: 40_000n, spent: 0n },
      'amount_exceeds_authorization',
      undefined,
    ],
    [
      'another payee',
      { payTo: OTHER },
      { authorizedAmount: 40_000n, spent: 0n },
      'pay_to_not_seller',
      undefined,
    ],
    [
      'an exhausted session budget',
      {},
      { authorizedAmount: 40_000n, spent: 980_000n },
      'session_budget_exceeded',
      'session',
    ],
    [
      'a price over the per-payment cap',
      { amount: '200000' },
      { authorizedAmount: 200_000n, spent: 0n },
      'amount_exceeds_payment_cap',
      'per_payment',
    ],
    ['no authorization at all', {}, { authorizedAmount: undefined, spent: 0n }, 'not_authorized', undefined],
  ] as const)(
    'never signs for %s, and throws the typed refusal',
    async (_name, overrides, state: SpendingState, code, limit) => {
      const { wallet, signTypedData } = buildWallet();
      const seller = fakeSeller(buildPaymentRequired(overrides));
      const budget = buildBudget();
      const paidFetch = createPaidFetch({
        wallet,
        policy,
        budget,
        fetch: seller.fetchImpl,
        state: () => state,
      });
      const error = await paidFetch('http://127.0.0.1/generate_image', { method: 'POST', body: '{}' }).catch(
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(PaymentRefusedError);
      expect([(error as PaymentRefusedError).code, (error as PaymentRefusedError).limit]).toStrictEqual([
        code,
        limit,
      ]);
      expect(signTypedData).not.toHaveBeenCalled();
      expect(seller.seen).toHaveLength(1);
      expect((await budget.status()).spent).toBe(0n);
    },
  );

  describe('with the wallet 24-hour budget', () => {
    const authorized = () => ({ authorizedAmount: 40_000n, spent: 0n });

    it('refuses with wallet_budget_exceeded (limit wallet_24h) once the window is spent, and signs nothing', async () => {
      const { wallet, signTypedData } = buildWallet();
      const store = createMemoryWalletBudgetStore();
      // Another session of the same wallet already spent 0.06 of the 0.08 cap.
      await buildBudget({ cap: 80_000n, store }).reserve('0xother', 60_000n);
      const seller = fakeSeller(buildPaymentRequired());
      const paidFetch = createPaidFetch({
        wallet,
        policy,
        budget: buildBudget({ cap: 80_000n, store }),
        fetch: seller.fetchImpl,
        state: authorized,
      });
      const error = await paidFetch('http://127.0.0.1/generate_image', { method: 'POST' }).catch(
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(PaymentRefusedError);
      expect(error).toMatchObject({
        code: 'wallet_budget_exceeded',
        limit: 'wallet_24h',
        message: 'the wallet has spent 0.06 of its 0.08 USDC 24-hour budget; 0.04 more would exceed it',
      });
      expect(signTypedData).not.toHaveBeenCalled();
      expect(seller.seen).toHaveLength(1);
    });

    it('refuses with wallet_budget_unavailable when the store cannot be read (fails closed)', async () => {
      const { wallet, signTypedData } = buildWallet();
      const broken: WalletBudgetStore = {
        kind: 'memory',
        read: () => Promise.reject(new Error('disk gone')),
        update: () => Promise.reject(new Error('disk gone')),
      };
      const paidFetch = createPaidFetch({
        wallet,
        policy,
        budget: buildBudget({ store: broken }),
        fetch: fakeSeller(buildPaymentRequired()).fetchImpl,
        state: authorized,
      });
      const error = await paidFetch('http://127.0.0.1/generate_image', { method: 'POST' }).catch(
        (e: unknown) => e,
      );
      expect(error).toMatchObject({ code: 'wallet_budget_unavailable' });
      expect((error as Error).cause).toStrictEqual(new Error('disk gone'));
      expect(signTypedData).not.toHaveBeenCalled();
    });

    it.each([
      ['a 402 (payment rejected)', 402, { error: 'payment_invalid' }, 0n],
      ['a 502 generation_failed (before settlement)', 502, { error: 'generation_failed' }, 0n],
      ['a 202 settlement_pending (outcome unknown)', 202, { error: 'settlement_pending' }, 40_000n],
      [
        'a 402 authorization_already_used (money may have moved)',
        402,
        { error: 'authorization_already_used' },
        40_000n,
      ],
      ['a 409 payment_in_progress', 409, { error: 'payment_in_progress' }, 40_000n],
      ['a 500 of unknown stage', 500, { error: 'internal_error' }, 40_000n],
    ])('after %s the reservation counts %s', async (_name, status, body, counted) => {
      const { wallet, signTypedData } = buildWallet();
      const budget = buildBudget();
      const seller = fakeSeller(
        buildPaymentRequired(),
        () => new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } }),
      );
      const paidFetch = createPaidFetch({
        wallet,
        policy,
        budget,
        fetch: seller.fetchImpl,
        state: authorized,
      });
      const response = await paidFetch('http://127.0.0.1/generate_image', { method: 'POST' });
      expect(response.status).toBe(status);
      expect(signTypedData).toHaveBeenCalledTimes(1);
      expect((await budget.status()).spent).toBe(counted);
    });

    it('releases the reservation when the paid request could not connect, and throws gateway_unreachable', async () => {
      const { wallet } = buildWallet();
      const budget = buildBudget();
      const seller = fakeSeller(buildPaymentRequired());
      const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' });
      const fetchImpl = (async (input: string | URL | Request, init?: RequestInit) => {
        const request = new Request(input, init);
        if (request.headers.get('PAYMENT-SIGNATURE')) throw new TypeError('fetch failed', { cause: refused });
        return seller.fetchImpl(request);
      }) as typeof fetch;
      const paidFetch = createPaidFetch({ wallet, policy, budget, fetch: fetchImpl, state: authorized });
      const error = await paidFetch('http://127.0.0.1/generate_image', { method: 'POST' }).catch(
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(PaymentFailedError);
      expect(error).toMatchObject({ code: 'gateway_unreachable' });
      expect((await budget.status()).spent).toBe(0n);
    });
  });
});

describe('createGuardedSigner (the signing boundary on its own)', () => {
  const typedData = (message: Record<string, unknown>, domain: Record<string, unknown> = {}) => ({
    domain: {
      name: 'USDC',
      version: '2',
      chainId: 84532,
      verifyingContract: NETWORKS.devnet.usdcAddress,
      ...domain,
    },
    types: {},
    primaryType: 'TransferWithAuthorization',
    message: {
      from: account.address,
      to: SELLER,
      value: 40_000n,
      validAfter: 0n,
      validBefore: 1n,
      nonce: `0x${'00'.repeat(32)}`,
      ...message,
    },
  });

  it.each([
    ['pay_to_not_seller', typedData({ to: OTHER })],
    ['amount_exceeds_authorization', typedData({ value: 40_001n })],
    ['asset_not_usdc', typedData({}, { verifyingContract: OTHER })],
    ['network_mismatch', typedData({}, { chainId: 8453 })],
    ['unsupported_signature', { ...typedData({}), primaryType: 'Permit' }],
    ['unsupported_signature', typedData({ from: OTHER })],
  ])('refuses with %s even when called directly', async (reason, data) => {
    const { wallet, signTypedData } = buildWallet();
    const signer = createGuardedSigner(wallet, policy, () => ({ authorizedAmount: 40_000n, spent: 0n }), {
      budget: buildBudget(),
    });
    const error = await signer.signTypedData(data).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PaymentRefusedError);
    expect((error as PaymentRefusedError).code).toBe(reason);
    expect(signTypedData).not.toHaveBeenCalled();
  });
});
