import { NETWORKS } from '@agentic-payments/x402';
import { encodePaymentRequiredHeader } from '@x402/core/http';
import type { PaymentRequired } from '@x402/core/types';
import { privateKeyToAccount } from 'viem/accounts';
import { describe, expect, it, vi } from 'vitest';
import { createGuardedSigner, createPaidFetch, PaymentRefusedError } from './payment-client.ts';
import type { SpendingPolicy } from './spending-policy.ts';
import type { AgentWallet } from './wallet.ts';

const SELLER = '0x90F79bf6EB2c4f870365E785982E1f101E93b906';
const OTHER = '0x000000000000000000000000000000000000dEaD';
const account = privateKeyToAccount('0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d');
const policy: SpendingPolicy = {
  network: NETWORKS.devnet,
  sellerAddress: SELLER,
  maxPayment: 100_000n,
  sessionBudget: 1_000_000n,
};

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

/** TEST ONLY: a seller that answers 402 with the given requirements, then 200 to any paid retry. */
function fakeSeller(required: PaymentRequired) {
  const seen: Request[] = [];
  const fetchImpl = (async (input: string | URL | Request, init?: RequestInit) => {
    const request = new Request(input, init);
    seen.push(request);
    if (request.headers.get('PAYMENT-SIGNATURE'))
      return new Response('{"status":"payment_settled"}', { status: 200 });
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
    const paidFetch = createPaidFetch({
      wallet,
      policy,
      fetch: seller.fetchImpl,
      state: () => ({ authorizedAmount: 40_000n, spent: 0n }),
    });
    const response = await paidFetch('http://127.0.0.1/generate_image', { method: 'POST', body: '{}' });
    expect(response.status).toBe(200);
    expect(signTypedData).toHaveBeenCalledTimes(1);
    expect(signTypedData.mock.calls[0]?.[0].primaryType).toBe('TransferWithAuthorization');
    expect(seller.seen.map((r) => Boolean(r.headers.get('PAYMENT-SIGNATURE')))).toStrictEqual([false, true]);
  });

  it.each([
    ['a higher price than the authorized estimate (bait and switch)', { amount: '80000' }, 40_000n, 0n],
    ['another payee', { payTo: OTHER }, 40_000n, 0n],
    ['an exhausted session budget', {}, 40_000n, 980_000n],
    ['no authorization at all', {}, undefined, 0n],
  ])('never signs for %s', async (_name, overrides, authorizedAmount, spent) => {
    const { wallet, signTypedData } = buildWallet();
    const seller = fakeSeller(buildPaymentRequired(overrides));
    const paidFetch = createPaidFetch({
      wallet,
      policy,
      fetch: seller.fetchImpl,
      state: () => ({ authorizedAmount, spent }),
    });
    await expect(
      paidFetch('http://127.0.0.1/generate_image', { method: 'POST', body: '{}' }),
    ).rejects.toThrow();
    expect(signTypedData).not.toHaveBeenCalled();
    expect(seller.seen).toHaveLength(1);
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
      nonce: '0x00',
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
    const signer = createGuardedSigner(wallet, policy, () => ({ authorizedAmount: 40_000n, spent: 0n }));
    const error = await signer.signTypedData(data).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PaymentRefusedError);
    expect((error as PaymentRefusedError).reason).toBe(reason);
    expect(signTypedData).not.toHaveBeenCalled();
  });
});
