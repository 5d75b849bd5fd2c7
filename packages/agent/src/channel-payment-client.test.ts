import { createImageAnalyzer } from '@agentic-payments/imaging';
import { NETWORKS } from '@agentic-payments/x402';
import {
  decodePaymentSignatureHeader,
  encodePaymentRequiredHeader,
  encodePaymentResponseHeader,
} from '@x402/core/http';
import type { PaymentPayload, PaymentRequired, PaymentRequirements, SettleResponse } from '@x402/core/types';
import { BATCH_SETTLEMENT_ADDRESS } from '@x402/evm';
import { privateKeyToAccount } from 'viem/accounts';
import { describe, expect, it, vi } from 'vitest';
import { createChannelPaidFetch, createChannelSigner, sessionChannelSalt } from './channel-payment-client.ts';
import { loadConfig } from './config.ts';
import { PaymentRefusedError } from './payment-client.ts';
import { closeSessionChannel, sessionChannelPort, sessionChannelStorage } from './session-channel.ts';
import type { AgentDeps, SessionContext } from './session-context.ts';
import { emptySession } from './session-state.ts';
import type { SpendingPolicy } from './spending-policy.ts';
import type { AgentWallet } from './wallet.ts';
import { createMemoryWalletBudgetStore, WalletBudget } from './wallet-budget.ts';

const SELLER = '0x90F79bf6EB2c4f870365E785982E1f101E93b906';
const AUTHORIZER = '0x15d34AAf54267DB7D7c367839AAf71A00a2C6A65';
const USDC = NETWORKS.devnet.usdcAddress;
const DEPOSIT_TX = `0x${'d0'.repeat(32)}`;
const REFUND_TX = `0x${'e0'.repeat(32)}`;
const URL = 'http://seller.test/generate_image';
const account = privateKeyToAccount('0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d');
const policy: SpendingPolicy = {
  network: NETWORKS.devnet,
  sellerAddress: SELLER,
  maxPayment: 100_000n,
  sessionBudget: 1_000_000n,
  walletBudget24h: 2_000_000n,
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

function batchRequirements(amount = '40000'): PaymentRequirements {
  return {
    scheme: 'batch-settlement',
    network: 'eip155:84532',
    asset: USDC,
    amount,
    payTo: SELLER,
    maxTimeoutSeconds: 300,
    extra: { receiverAuthorizer: AUTHORIZER, withdrawDelay: 900, name: 'USDC', version: '2' },
  };
}

function paymentRequired(amount?: string): PaymentRequired {
  return {
    x402Version: 2,
    resource: { url: URL, description: 'image', mimeType: 'application/json' },
    accepts: [
      { ...batchRequirements(amount), scheme: 'exact', extra: { name: 'USDC', version: '2' } },
      batchRequirements(amount),
    ],
  };
}

/**
 * TEST ONLY: a seller speaking the batch-settlement wire (spec: Payment Response Contract). It keeps
 * the charged total of the channel, answers a deposit with its transaction, a voucher with none, and
 * a refund (GET, as the official client sends it) with the refund transaction.
 */
function fakeChannelSeller(
  options: { amount?: string; paid?: (payload: PaymentPayload) => Response | undefined } = {},
) {
  const payloads: PaymentPayload[] = [];
  const requests: { method: string; body: string }[] = [];
  let charged = 0n;
  let balance = 0n;
  const fetchImpl = (async (input: string | URL | Request, init?: RequestInit) => {
    const request = new Request(input, init);
    requests.push({ method: request.method, body: await request.clone().text() });
    const header = request.headers.get('PAYMENT-SIGNATURE');
    if (!header) {
      return new Response('{}', {
        status: 402,
        headers: { 'PAYMENT-REQUIRED': encodePaymentRequiredHeader(paymentRequired(options.amount)) },
      });
    }
    const payload = decodePaymentSignatureHeader(header);
    payloads.push(payload);
    const override = options.paid?.(payload);
    if (override) return override;
    const inner = payload.payload as {
      type: string;
      voucher: { channelId: string };
      deposit?: { amount: string };
    };
    const price = BigInt(payload.accepted.amount);
    let settle: SettleResponse;
    if (inner.type === 'refund') {
      const refunded = balance - charged;
      balance = charged;
      settle = {
        success: true,
        transaction: REFUND_TX,
        network: 'eip155:84532',
        payer: account.address,
        amount: refunded.toString(),
        extra: { channelState: { channelId: inner.voucher.channelId, balance: balance.toString() } },
      };
    } else {
      if (inner.deposit) balance += BigInt(inner.deposit.amount);
      charged += price;
      settle = {
        success: true,
        transaction: inner.deposit ? DEPOSIT_TX : '',
        network: 'eip155:84532',
        payer: account.address,
        amount: inner.deposit ? inner.deposit.amount : '',
        extra: {
          chargedAmount: price.toString(),
          channelState: {
            channelId: inner.voucher.channelId,
            balance: balance.toString(),
            chargedCumulativeAmount: charged.toString(),
          },
        },
      };
    }
    return new Response('{"status":"payment_settled"}', {
      status: 200,
      headers: { 'PAYMENT-RESPONSE': encodePaymentResponseHeader(settle) },
    });
  }) as typeof fetch;
  return { fetchImpl, payloads, requests };
}

function buildSession(options: { budgetCap?: bigint; fetch?: typeof fetch } = {}) {
  const { wallet, signTypedData } = buildWallet();
  const budget = new WalletBudget(createMemoryWalletBudgetStore(), {
    walletKey: 'eip155:84532:test',
    cap: options.budgetCap ?? policy.walletBudget24h,
  });
  const saves: string[] = [];
  const ctx: SessionContext = {
    record: emptySession('channel-test', new Date(0)),
    latestUserText: '',
    turnPayments: [],
    turnImageIds: [],
    persist: async () => {
      saves.push(JSON.stringify(ctx.record.channel ?? null));
    },
  };
  const deps: AgentDeps = {
    config: { ...loadConfig({ PAYMENT_SCHEME: 'batch-settlement' }), gatewayUrl: 'http://seller.test' },
    policy,
    budget,
    wallet,
    analyzer: createImageAnalyzer({ kind: 'local', region: 'us-east-1', modelId: 'unused' }),
    fetch: options.fetch ?? fetch,
    now: () => new Date(0),
    newId: () => 'id',
    log: () => {},
  };
  return { wallet, signTypedData, budget, ctx, deps, saves };
}

/** One authorized purchase of `amount` through the session's channel, recording the charge as the tool does. */
async function buy(
  session: ReturnType<typeof buildSession>,
  seller: ReturnType<typeof fakeChannelSeller>,
  amount = 40_000n,
) {
  const { ctx, deps } = session;
  const port = sessionChannelPort(deps, ctx, { mode: 'purchase', authorizedAmount: () => amount });
  const pay = createChannelPaidFetch({
    wallet: deps.wallet,
    policy,
    budget: deps.budget,
    session: port,
    storage: sessionChannelStorage(ctx),
    salt: sessionChannelSalt(ctx.record.session_id),
    fetch: seller.fetchImpl,
    depositTarget: async () => policy.sessionBudget - port.state().deposited,
  });
  const result = await pay(URL, { method: 'POST', body: '{}' });
  if (result.response.status === 200) {
    ctx.record.spent = (
      BigInt(ctx.record.spent) + BigInt(String(result.settle?.extra?.chargedAmount))
    ).toString();
  }
  return result;
}

async function refusalOf(promise: Promise<unknown>): Promise<string | undefined> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof PaymentRefusedError) return error.code;
    throw error;
  }
  return undefined;
}

describe('createChannelPaidFetch', () => {
  it('deposits the session budget with the first voucher, then pays each later image with a voucher only', async () => {
    const session = buildSession();
    const seller = fakeChannelSeller();

    const first = await buy(session, seller);
    expect(first.deposit).toStrictEqual({ reservationId: expect.any(String), amount: 1_000_000n });
    expect(first.settle?.transaction).toBe(DEPOSIT_TX);
    const second = await buy(session, seller);
    const third = await buy(session, seller);
    expect([second.deposit, third.deposit, second.settle?.transaction]).toStrictEqual([
      undefined,
      undefined,
      '',
    ]);

    const sent = seller.payloads.map((p) => {
      const inner = p.payload as {
        type: string;
        voucher: { maxClaimableAmount: string };
        deposit?: { amount: string };
      };
      return [inner.type, inner.voucher.maxClaimableAmount, inner.deposit?.amount];
    });
    expect(sent).toStrictEqual([
      ['deposit', '40000', '1000000'],
      ['voucher', '80000', undefined],
      ['voucher', '120000', undefined],
    ]);
    // The deposit is what left the wallet: reserved once, settled on the 200; vouchers reserve nothing.
    expect(await session.budget.status()).toStrictEqual({
      cap: 2_000_000n,
      spent: 1_000_000n,
      remaining: 1_000_000n,
    });
    const channel = session.ctx.record.channel;
    expect(channel?.deposits).toStrictEqual([
      {
        reservation_id: expect.any(String),
        amount: '1000000',
        state: 'confirmed',
        transaction_hash: DEPOSIT_TX,
      },
    ]);
    expect([
      channel?.signed_max,
      channel?.client?.chargedCumulativeAmount,
      channel?.client?.balance,
    ]).toStrictEqual(['120000', '120000', '1000000']);
    // The deposit was on disk before its signature left the process.
    expect(session.saves.some((saved) => saved.includes('"state":"signed"'))).toBe(true);
  });

  it('refuses a price over the per-payment cap and signs nothing', async () => {
    const session = buildSession();
    const seller = fakeChannelSeller({ amount: '150000' });
    expect(await refusalOf(buy(session, seller, 150_000n))).toBe('amount_exceeds_payment_cap');
    expect(session.signTypedData).not.toHaveBeenCalled();
    expect(seller.payloads).toStrictEqual([]);
    expect((await session.budget.status()).spent).toBe(0n);
  });

  it('refuses a voucher over the session budget and signs nothing', async () => {
    const session = buildSession();
    const seller = fakeChannelSeller();
    await buy(session, seller);
    session.signTypedData.mockClear();
    session.ctx.record.spent = '980000';
    expect(await refusalOf(buy(session, seller))).toBe('session_budget_exceeded');
    expect(session.signTypedData).not.toHaveBeenCalled();
    expect(seller.payloads).toHaveLength(1);
  });

  it('refuses the deposit when the wallet 24-hour budget has no room, and signs nothing', async () => {
    const session = buildSession({ budgetCap: 500_000n });
    const seller = fakeChannelSeller();
    expect(await refusalOf(buy(session, seller))).toBe('wallet_budget_exceeded');
    expect(session.signTypedData).not.toHaveBeenCalled();
    expect(session.ctx.record.channel?.deposits).toStrictEqual([]);
  });

  it('releases the deposit (budget and session) when the seller rejects the payment before settling', async () => {
    const session = buildSession();
    const seller = fakeChannelSeller({
      paid: () => new Response('{"error":"invalid_payment","message":"no"}', { status: 400 }),
    });
    const result = await buy(session, seller);
    expect(result.response.status).toBe(400);
    expect(session.signTypedData).toHaveBeenCalledTimes(2);
    expect((await session.budget.status()).spent).toBe(0n);
    expect(session.ctx.record.channel?.deposits).toStrictEqual([]);
  });

  it('keeps the deposit counted when the answer leaves its settlement unknown', async () => {
    const session = buildSession();
    const seller = fakeChannelSeller({
      paid: () => new Response('{"error":"settlement_pending"}', { status: 202 }),
    });
    await buy(session, seller);
    expect((await session.budget.status()).spent).toBe(1_000_000n);
    expect(session.ctx.record.channel?.deposits.map((d) => d.state)).toStrictEqual(['signed']);
  });
});

describe('createChannelSigner', () => {
  function signerFor(session: ReturnType<typeof buildSession>, mode: 'purchase' | 'refund' = 'purchase') {
    const port = sessionChannelPort(session.deps, session.ctx, {
      mode,
      authorizedAmount: () => (mode === 'purchase' ? 40_000n : undefined),
    });
    return {
      port,
      signer: createChannelSigner(session.wallet, policy, { budget: session.budget, session: port }),
    };
  }
  const voucher = (channelId: string, cumulative: bigint) => ({
    domain: {
      name: 'x402 Batch Settlement',
      version: '1',
      chainId: 84532,
      verifyingContract: BATCH_SETTLEMENT_ADDRESS,
    },
    types: {
      Voucher: [
        { name: 'channelId', type: 'bytes32' },
        { name: 'maxClaimableAmount', type: 'uint128' },
      ],
    },
    primaryType: 'Voucher',
    message: { channelId, maxClaimableAmount: cumulative },
  });

  it('refuses a voucher whose ceiling is more than the price over what the session was charged', async () => {
    const session = buildSession();
    const { port, signer } = signerFor(session);
    const channelId = `0x${'c1'.repeat(32)}` as const;
    await port.bindChannel(channelId);
    await port.depositSigned('r1', 1_000_000n);
    session.ctx.record.spent = '40000';
    // The seller (a corrective 402 with a higher base) asks for 0.08 on top of the 0.04 charged.
    expect(await refusalOf(signer.signTypedData(voucher(channelId, 120_000n)))).toBe(
      'amount_exceeds_authorization',
    );
    expect(await refusalOf(signer.signTypedData(voucher(`0x${'99'.repeat(32)}`, 80_000n)))).toBe(
      'unexpected_channel',
    );
    expect(session.signTypedData).not.toHaveBeenCalled();
    await signer.signTypedData(voucher(channelId, 80_000n));
    expect(session.signTypedData).toHaveBeenCalledTimes(1);
  });

  it('signs nothing but channel deposits and vouchers', async () => {
    const session = buildSession();
    const { signer } = signerFor(session);
    const transfer = {
      domain: { name: 'USDC', version: '2', chainId: 84532, verifyingContract: USDC },
      types: {},
      primaryType: 'TransferWithAuthorization',
      message: { from: account.address, to: SELLER, value: 40_000n, nonce: `0x${'01'.repeat(32)}` },
    };
    expect(await refusalOf(signer.signTypedData(transfer))).toBe('unsupported_signature');
    expect(session.signTypedData).not.toHaveBeenCalled();
  });
});

describe('closeSessionChannel', () => {
  it('asks for the refund of the unspent deposit, records its transaction and frees the wallet budget', async () => {
    const seller = fakeChannelSeller();
    const session = buildSession({ fetch: seller.fetchImpl });
    await buy(session, seller);
    await buy(session, seller);
    session.signTypedData.mockClear();

    const closed = await closeSessionChannel(session.deps, session.ctx);

    expect(closed.status).toBe('refunded');
    const refund = seller.payloads.at(-1)?.payload as {
      type: string;
      voucher: { maxClaimableAmount: string };
    };
    // A zero-charge voucher at the charged total (spec: refund payload).
    expect([refund.type, refund.voucher.maxClaimableAmount]).toStrictEqual(['refund', '80000']);
    // The official client's refund: a probe, then the refund voucher, both GET on the paid route.
    expect(seller.requests.slice(-2).map((r) => r.method)).toStrictEqual(['GET', 'GET']);
    expect(session.ctx.turnPayments).toStrictEqual([
      {
        kind: 'refund',
        transaction_hash: REFUND_TX,
        explorer_url: `${session.deps.config.explorerUrl}/tx/${REFUND_TX}`,
        amount: '0.92',
        atomic_amount: '920000',
        network: 'base-sepolia',
        channel_id: session.ctx.record.channel?.channel_id,
        paid_at: new Date(0).toISOString(),
      },
    ]);
    expect([session.ctx.record.channel?.status, session.ctx.record.channel?.refunded]).toStrictEqual([
      'closed',
      '920000',
    ]);
    // The refunded money came back: the wallet's 24-hour budget counts only what was charged.
    expect((await session.budget.status()).spent).toBe(80_000n);
    expect(await closeSessionChannel(session.deps, session.ctx)).toStrictEqual({
      status: 'nothing_to_refund',
    });
  });

  it('refuses to sign a refund voucher above the signed ceiling', async () => {
    const seller = fakeChannelSeller();
    const session = buildSession({ fetch: seller.fetchImpl });
    await buy(session, seller);
    const channel = session.ctx.record.channel;
    if (!channel?.client) throw new Error('no channel');
    // The official client's record says more was charged than the session ever signed for.
    channel.client.chargedCumulativeAmount = '500000';
    session.signTypedData.mockClear();
    const closed = await closeSessionChannel(session.deps, session.ctx);
    expect(closed).toStrictEqual({
      status: 'failed',
      reason: 'refund_voucher_charges',
      message: expect.any(String),
    });
    expect(session.signTypedData).not.toHaveBeenCalled();
    expect(session.ctx.record.channel?.status).toBe('open');
  });
});
