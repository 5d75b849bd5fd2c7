/**
 * THE batch-settlement interop check: the official `@x402/evm` batch-settlement client scheme (driven
 * by the official `@x402/fetch` wrapper and `@x402/core` client) and the official batch-settlement
 * facilitator scheme (in an `@x402/core` x402Facilitator) run unchanged against our channel contract
 * and ERC-3009 deposit collector on the devnet. A deposit, several vouchers, one claim across two
 * channels, one settle and a cooperative refund; balances checked on chain.
 *
 * The seller in the middle is a STAND-IN written here (the gateway's batch-settlement support is
 * another branch): a plain node:http route that does what the spec's "Server: State & Forwarding"
 * section asks — 402 offer, cumulative check, facilitator /verify, deposit /settle, charge commit,
 * PAYMENT-RESPONSE with `chargedAmount` and `channelState`, and the refund enrichment — and nothing
 * more. It keeps the receiver-authorizer key out of the server: the facilitator's authorizer signs
 * claims and refunds (delegated receiverAuthorizer).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { x402Client } from '@x402/core/client';
import { x402Facilitator } from '@x402/core/facilitator';
import {
  decodePaymentSignatureHeader,
  encodePaymentRequiredHeader,
  encodePaymentResponseHeader,
} from '@x402/core/http';
import type { PaymentPayload, PaymentRequired, PaymentRequirements, SettleResponse } from '@x402/core/types';
import { toClientEvmSigner, toFacilitatorEvmSigner } from '@x402/evm';
import { BatchSettlementEvmScheme as BatchSettlementClientScheme } from '@x402/evm/batch-settlement/client';
import { BatchSettlementEvmScheme as BatchSettlementFacilitatorScheme } from '@x402/evm/batch-settlement/facilitator';
import { wrapFetchWithPayment } from '@x402/fetch';
import { createWalletClient, type Hex, http, publicActions } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DevnetAccount } from './accounts.ts';
import { batchSettlementAbi } from './artifacts/batchSettlement.ts';
import { devnetChain } from './chain.ts';
import { type ChannelConfig, openDevnetChannel } from './channels.ts';
import { BATCH_SETTLEMENT_ADDRESS, DEVNET_NETWORK, USDC_ADDRESS } from './constants.ts';
import { type Devnet, startDevnet } from './start-devnet.ts';

const PRICE = 10_000n; // the per-request ceiling the 402 offers (0.01 USDC)

let devnet: Devnet;
let facilitator: x402Facilitator;
let facilitatorScheme: BatchSettlementFacilitatorScheme;
let authorizer: DevnetAccount;
let seller: StandInSeller;

// ---- the stand-in seller (spec's server role, nothing more) ----

interface ChannelRecord {
  config: ChannelConfig;
  charged: bigint;
  signedMax: bigint;
  signature: Hex;
}

interface StandInSeller {
  url: string;
  requirements: PaymentRequirements;
  channels: Map<string, ChannelRecord>;
  /** The facilitator's answers, in order (deposit, refund), for the assertions. */
  settlements: SettleResponse[];
  /** What each successful request is charged (dynamic pricing: at most PRICE). */
  nextCharge: bigint[];
  server: Server;
}

function send402(res: ServerResponse, paymentRequired: PaymentRequired): void {
  res.writeHead(402, {
    'content-type': 'application/json',
    'PAYMENT-REQUIRED': encodePaymentRequiredHeader(paymentRequired),
  });
  res.end(JSON.stringify(paymentRequired));
}

async function startStandInSeller(requirements: PaymentRequirements): Promise<StandInSeller> {
  const channels = new Map<string, ChannelRecord>();
  const settlements: SettleResponse[] = [];
  const nextCharge: bigint[] = [];
  let url = '';
  const paymentRequired = (error?: string): PaymentRequired => ({
    x402Version: 2,
    ...(error ? { error } : {}),
    resource: { url, description: 'one image', mimeType: 'application/json' },
    accepts: [requirements],
  });

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const header = req.headers['payment-signature'];
    if (typeof header !== 'string') return send402(res, paymentRequired());
    const payment: PaymentPayload = decodePaymentSignatureHeader(header);
    const body = payment.payload as {
      type: string;
      channelConfig: ChannelConfig;
      voucher: { channelId: Hex; maxClaimableAmount: string; signature: Hex };
      deposit?: { amount: string };
      amount?: string;
    };
    const channelId = body.voucher.channelId.toLowerCase();
    const record = channels.get(channelId);
    const charged = record?.charged ?? 0n;
    const verified = await facilitator.verify(payment, requirements);
    if (!verified.isValid) return send402(res, paymentRequired(verified.invalidReason));
    const state = verified.extra as { balance: string; totalClaimed: string; refundNonce: string };

    if (body.type === 'refund') {
      // Zero-charge voucher; the server completes the payload (spec: "Cooperative refund flow").
      if (BigInt(body.voucher.maxClaimableAmount) !== charged)
        return send402(res, paymentRequired('cumulative'));
      const rest = BigInt(state.balance) - charged;
      const enriched = {
        ...body,
        amount: body.amount ?? rest.toString(),
        refundNonce: state.refundNonce,
        claims: [
          {
            voucher: { channel: body.channelConfig, maxClaimableAmount: body.voucher.maxClaimableAmount },
            signature: body.voucher.signature,
            totalClaimed: charged.toString(),
          },
        ],
      };
      const settled = await facilitator.settle({ ...payment, payload: enriched }, requirements);
      settlements.push(settled);
      if (settled.success) channels.delete(channelId);
      res.writeHead(settled.success ? 200 : 402, {
        'PAYMENT-RESPONSE': encodePaymentResponseHeader(settled),
      });
      return void res.end('{}');
    }

    // deposit or voucher: the cumulative ceiling must be exactly charged + PRICE.
    if (BigInt(body.voucher.maxClaimableAmount) !== charged + BigInt(requirements.amount)) {
      return send402(res, paymentRequired('invalid_batch_settlement_evm_cumulative_amount_mismatch'));
    }
    let transaction = '';
    let amount = '';
    let balance = BigInt(state.balance);
    if (body.type === 'deposit') {
      const settled = await facilitator.settle(payment, requirements);
      settlements.push(settled);
      if (!settled.success) return send402(res, paymentRequired(settled.errorReason));
      transaction = settled.transaction;
      amount = body.deposit?.amount ?? '';
      const channelState = settled.extra?.channelState as { balance: string } | undefined;
      if (!channelState) return send402(res, paymentRequired('no_channel_state'));
      balance = BigInt(channelState.balance);
    }
    // The "resource" succeeded: commit the charge (spec: only after the handler succeeded).
    const charge = nextCharge.shift() ?? BigInt(requirements.amount);
    const next: ChannelRecord = {
      config: body.channelConfig,
      charged: charged + charge,
      signedMax: BigInt(body.voucher.maxClaimableAmount),
      signature: body.voucher.signature,
    };
    channels.set(channelId, next);
    const response: SettleResponse = {
      success: true,
      transaction,
      network: requirements.network,
      payer: body.channelConfig.payer,
      amount,
      extra: {
        chargedAmount: charge.toString(),
        channelState: {
          channelId: body.voucher.channelId,
          balance: balance.toString(),
          totalClaimed: state.totalClaimed,
          withdrawRequestedAt: 0,
          refundNonce: state.refundNonce,
          chargedCumulativeAmount: next.charged.toString(),
        },
      },
    };
    res.writeHead(200, {
      'content-type': 'application/json',
      'PAYMENT-RESPONSE': encodePaymentResponseHeader(response),
    });
    res.end(JSON.stringify({ image: 'stand-in' }));
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      res.writeHead(500);
      res.end(String(error));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/generate_image`;
  return { url, requirements, channels, settlements, nextCharge, server };
}

// ---- the official client, as an agent would set it up ----

function officialClient(account: DevnetAccount): {
  scheme: BatchSettlementClientScheme;
  fetch: typeof fetch;
} {
  const signer = toClientEvmSigner(privateKeyToAccount(account.privateKey), devnet.publicClient);
  const scheme = new BatchSettlementClientScheme(signer, { depositPolicy: { depositMultiplier: 5 } });
  const client = new x402Client().register(DEVNET_NETWORK, scheme);
  return { scheme, fetch: wrapFetchWithPayment(fetch, client) };
}

async function channelOnChain(channelId: string): Promise<{ balance: bigint; totalClaimed: bigint }> {
  const [balance, totalClaimed] = await devnet.publicClient.readContract({
    address: BATCH_SETTLEMENT_ADDRESS,
    abi: batchSettlementAbi,
    functionName: 'channels',
    args: [channelId as Hex],
  });
  return { balance, totalClaimed };
}

beforeAll(async () => {
  devnet = await startDevnet({ port: 0, quiet: true });
  const [authorizerAccount] = await devnet.fundPayers(1, 0n);
  if (!authorizerAccount) throw new Error('no authorizer');
  authorizer = authorizerAccount;
  const settler = createWalletClient({
    account: privateKeyToAccount(devnet.accounts.settler.privateKey),
    chain: devnetChain(devnet.rpcUrl),
    transport: http(devnet.rpcUrl),
  }).extend(publicActions);
  facilitatorScheme = new BatchSettlementFacilitatorScheme(
    toFacilitatorEvmSigner(
      {
        address: settler.account.address,
        readContract: (args) => settler.readContract(args as Parameters<typeof settler.readContract>[0]),
        verifyTypedData: (args) =>
          settler.verifyTypedData(args as Parameters<typeof settler.verifyTypedData>[0]),
        writeContract: (args) => settler.writeContract(args as Parameters<typeof settler.writeContract>[0]),
        sendTransaction: (args) => settler.sendTransaction(args),
        waitForTransactionReceipt: (args) =>
          settler.waitForTransactionReceipt({ ...args, pollingInterval: 20 }),
        getCode: (args) => settler.getCode(args),
      },
      { confirmationTimeoutMs: 10_000 },
    ),
    privateKeyToAccount(authorizer.privateKey),
  );
  facilitator = new x402Facilitator().register(DEVNET_NETWORK, facilitatorScheme);
  const extra = facilitatorScheme.getExtra(DEVNET_NETWORK);
  seller = await startStandInSeller({
    scheme: 'batch-settlement',
    network: DEVNET_NETWORK,
    asset: USDC_ADDRESS,
    amount: PRICE.toString(),
    payTo: devnet.accounts.seller.address,
    maxTimeoutSeconds: 3_600,
    extra: { ...extra, withdrawDelay: 900, name: 'USDC', version: '2' },
  });
}, 60_000);

afterAll(async () => {
  await new Promise((resolve) => seller?.server.close(resolve));
  await devnet?.stop();
});

describe('official batch-settlement client + facilitator on our devnet contracts', () => {
  it('deposit once, pay by vouchers, claim two channels in one transaction, settle, refund the rest', async () => {
    expect(facilitatorScheme.getExtra(DEVNET_NETWORK)).toStrictEqual({
      receiverAuthorizer: authorizer.address,
    });
    const [alice, bob] = await devnet.fundPayers(2, 1_000_000n);
    if (!alice || !bob) throw new Error('no payers');
    const sellerAddress = devnet.accounts.seller.address;
    const sellerBefore = await devnet.usdcBalance(sellerAddress);
    const a = officialClient(alice);
    const b = officialClient(bob);

    // 1-2. Alice's first request: the client signs an ERC-3009 deposit (5 x the price) plus a
    // voucher; the facilitator verifies it and sends the deposit transaction.
    seller.nextCharge.push(PRICE, 7_000n, PRICE, PRICE, 3_000n); // dynamic pricing, each <= PRICE
    const first = await a.fetch(seller.url, { method: 'POST' });
    expect(first.status).toBe(200);
    const [deposit] = seller.settlements;
    expect(deposit).toMatchObject({ success: true, amount: '50000', payer: alice.address });
    const depositReceipt = await devnet.publicClient.getTransactionReceipt({
      hash: deposit?.transaction as Hex,
    });
    expect(depositReceipt.status).toBe('success');
    expect(depositReceipt.to).toBe(BATCH_SETTLEMENT_ADDRESS.toLowerCase());
    expect(await devnet.usdcBalance(alice.address)).toBe(1_000_000n - 50_000n);
    const [aliceId] = [...seller.channels.keys()];
    if (!aliceId) throw new Error('no channel recorded');
    expect(await channelOnChain(aliceId)).toStrictEqual({ balance: 50_000n, totalClaimed: 0n });

    // 3. Four more requests: voucher-only payloads, each verified by the facilitator; no transaction.
    for (let i = 0; i < 4; i++) {
      const response = await a.fetch(seller.url, { method: 'POST' });
      expect(response.status).toBe(200);
    }
    expect(seller.settlements).toHaveLength(1);
    const aliceRecord = seller.channels.get(aliceId);
    expect(aliceRecord?.charged).toBe(40_000n); // 10,000 + 7,000 + 10,000 + 10,000 + 3,000
    expect(aliceRecord?.signedMax).toBe(47_000n); // the last voucher: 37,000 charged + 10,000 ceiling
    expect(await devnet.usdcBalance(alice.address)).toBe(950_000n);

    // Bob: one deposit request and one voucher, so the claim spans two channels.
    seller.nextCharge.push(PRICE, PRICE);
    expect((await b.fetch(seller.url, { method: 'POST' })).status).toBe(200);
    expect((await b.fetch(seller.url, { method: 'POST' })).status).toBe(200);
    const bobId = [...seller.channels.keys()].find((id) => id !== aliceId);
    if (!bobId) throw new Error('no second channel');

    // 4. One claim for both channels (the facilitator's authorizer signs the ClaimBatch), then settle.
    const claims = [aliceId, bobId].map((id) => {
      const record = seller.channels.get(id);
      if (!record) throw new Error('channel lost');
      return {
        voucher: { channel: record.config, maxClaimableAmount: record.signedMax.toString() },
        signature: record.signature,
        totalClaimed: record.charged.toString(),
      };
    });
    const requirements = seller.requirements;
    const envelope = (payload: Record<string, unknown>): PaymentPayload => ({
      x402Version: 2,
      accepted: requirements,
      payload,
    });
    const claimed = await facilitator.settle(envelope({ type: 'claim', claims }), requirements);
    expect(claimed).toMatchObject({ success: true });
    const claimReceipt = await devnet.publicClient.getTransactionReceipt({
      hash: claimed.transaction as Hex,
    });
    expect(claimReceipt.status).toBe('success');
    expect(await channelOnChain(aliceId)).toStrictEqual({ balance: 50_000n, totalClaimed: 40_000n });
    expect(await channelOnChain(bobId)).toStrictEqual({ balance: 50_000n, totalClaimed: 20_000n });
    expect(await devnet.usdcBalance(sellerAddress)).toBe(sellerBefore); // claims move no tokens

    const settled = await facilitator.settle(
      envelope({ type: 'settle', receiver: sellerAddress, token: USDC_ADDRESS }),
      requirements,
    );
    expect(settled).toMatchObject({ success: true, amount: '60000' });
    const settleReceipt = await devnet.publicClient.getTransactionReceipt({
      hash: settled.transaction as Hex,
    });
    expect(await devnet.usdcBalance(sellerAddress)).toBe(sellerBefore + 60_000n); // exactly what was charged

    // 5. Alice ends the session: the official client's refund, through the seller, to the facilitator.
    const refund = await a.scheme.refund(seller.url, { fetch });
    expect(refund).toMatchObject({ success: true, amount: '10000', payer: alice.address });
    expect(await devnet.usdcBalance(alice.address)).toBe(960_000n); // 1,000,000 - 40,000 charged
    expect(await channelOnChain(aliceId)).toStrictEqual({ balance: 40_000n, totalClaimed: 40_000n });
    const refundNonce = await devnet.publicClient.readContract({
      address: BATCH_SETTLEMENT_ADDRESS,
      abi: batchSettlementAbi,
      functionName: 'refundNonce',
      args: [aliceId as Hex],
    });
    expect(refundNonce).toBe(1n);
    const refundReceipt = await devnet.publicClient.getTransactionReceipt({
      hash: refund.transaction as Hex,
    });
    expect(refundReceipt.status).toBe('success');
    console.log(
      `official stack gas used: deposit ${depositReceipt.gasUsed}, claim (2 channels) ${claimReceipt.gasUsed}, settle ${settleReceipt.gasUsed}, refund (claim no-op + refundWithSignature multicall) ${refundReceipt.gasUsed}`,
    );
    // Bob's channel is untouched: 30,000 unclaimed stays his to spend or refund.
    expect(await channelOnChain(bobId)).toStrictEqual({ balance: 50_000n, totalClaimed: 20_000n });
  });

  it('the facilitator refuses a voucher above the deposit and one signed by another key', async () => {
    const [carol, mallory] = await devnet.fundPayers(2, 1_000_000n);
    if (!carol || !mallory) throw new Error('no payers');
    const c = officialClient(carol);
    seller.nextCharge.push(PRICE);
    expect((await c.fetch(seller.url, { method: 'POST' })).status).toBe(200);
    const carolId = [...seller.channels.entries()].find(([, r]) => r.config.payer === carol.address)?.[0];
    const record = carolId ? seller.channels.get(carolId) : undefined;
    if (!carolId || !record) throw new Error('no channel');
    const requirements = seller.requirements;
    const { signVoucher } = await import('@x402/evm/batch-settlement/client');
    const voucherPayload = async (account: DevnetAccount, max: bigint): Promise<PaymentPayload> => ({
      x402Version: 2,
      accepted: requirements,
      payload: {
        type: 'voucher',
        channelConfig: record.config,
        voucher: await signVoucher(
          privateKeyToAccount(account.privateKey),
          carolId as Hex,
          max.toString(),
          DEVNET_NETWORK,
        ),
      },
    });
    expect(await facilitator.verify(await voucherPayload(carol, 20_000n), requirements)).toMatchObject({
      isValid: true,
    });
    expect(await facilitator.verify(await voucherPayload(carol, 50_001n), requirements)).toMatchObject({
      isValid: false,
      invalidReason: 'invalid_batch_settlement_evm_cumulative_exceeds_balance',
    });
    expect(await facilitator.verify(await voucherPayload(mallory, 20_000n), requirements)).toMatchObject({
      isValid: false,
      invalidReason: 'invalid_batch_settlement_evm_voucher_signature',
    });
  });

  it('picks up a channel opened with openDevnetChannel: the first request is a voucher, no deposit', async () => {
    const [dave] = await devnet.fundPayers(1, 100_000n);
    if (!dave) throw new Error('no payer');
    const { channelId } = await openDevnetChannel(devnet, {
      payer: dave,
      receiverAuthorizer: authorizer.address,
      amount: 100_000n,
    });
    const settlementsBefore = seller.settlements.length;
    seller.nextCharge.push(PRICE);
    expect((await officialClient(dave).fetch(seller.url, { method: 'POST' })).status).toBe(200);
    expect(seller.settlements).toHaveLength(settlementsBefore); // no deposit transaction
    expect(seller.channels.get(channelId.toLowerCase())).toMatchObject({ charged: PRICE, signedMax: PRICE });
    expect(await devnet.usdcBalance(dave.address)).toBe(0n);
  });
});
