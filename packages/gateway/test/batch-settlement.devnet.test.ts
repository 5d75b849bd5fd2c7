/**
 * The decisive batch-settlement test (issue 16): on the devnet, the OFFICIAL batch-settlement client
 * (`@x402/evm/batch-settlement/client` through `@x402/fetch`) buys 25 images from our gateway, which
 * runs the official server scheme over our payment store, against our facilitator (official
 * facilitator scheme) and the devnet's channel contract. One deposit transaction, vouchers only
 * afterwards, one later claim + one settle, the receiver paid exactly 25 × price on chain, and the
 * unspent rest refunded to the payer through the official client's refund.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BATCH_SETTLEMENT_ADDRESS, connectDevnet, type DevnetClient } from '@agentic-payments/devnet';
import type {} from '@agentic-payments/devnet/global-setup';
import {
  createMemoryLogger as createFacilitatorLogger,
  type RunningFacilitator,
  startFacilitator,
} from '@agentic-payments/facilitator';
import { type ImageGenerator, ImagingError, LocalImageGenerator } from '@agentic-payments/imaging';
import {
  ChannelPurchaseResponse,
  ChannelTransactionsResponse,
  getNetwork,
  priceForImage,
} from '@agentic-payments/x402';
import { decodePaymentResponseHeader } from '@x402/core/http';
import { toClientEvmSigner } from '@x402/evm';
import { BatchSettlementEvmScheme as BatchSettlementClientScheme } from '@x402/evm/batch-settlement/client';
import { wrapFetchWithPayment, x402Client } from '@x402/fetch';
import { type Address, parseAbiItem } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createMemoryLogger } from '../src/logger.ts';
import { startGateway } from '../src/start-gateway.ts';

const provided = inject('devnet');
const network = getNetwork('devnet');
const PRICE = priceForImage({ size: '1024x1024', quality: 'standard' }); // 40,000 (0.04 USDC)
const IMAGES = 25;
const DEPOSIT = 30n * PRICE; // the session budget: 25 images and a rest to refund
const TRANSFER = parseAbiItem('event Transfer(address indexed from, address indexed to, uint256 value)');

let devnet: DevnetClient;
let settler: Address;
let facilitator: RunningFacilitator;
const cleanups: Array<() => Promise<void> | void> = [];

beforeAll(async () => {
  devnet = connectDevnet({ rpcUrl: provided.rpcUrl });
  // A settler of this file's own: other test files settle in parallel on the shared devnet, and
  // this file counts its settler's transactions.
  const [own] = await devnet.fundPayers(1, 0n, 10n ** 18n);
  if (own === undefined) throw new Error('no settler');
  settler = own.address;
  facilitator = await startFacilitator({
    rpcUrl: provided.rpcUrl,
    privateKey: own.privateKey,
    network: 'devnet',
    port: 0,
    receiptTimeoutMs: 10_000,
    logger: createFacilitatorLogger(),
  });
  cleanups.push(() => facilitator.stop());
});

afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

const transfers = (args: { from?: Address; to?: Address }, fromBlock: bigint) =>
  devnet.publicClient.getLogs({ address: provided.usdcAddress, event: TRANSFER, args, fromBlock });

/** Our gateway on the devnet with batch-settlement; claims run only when a test says (and at stop). */
async function startChannelGateway(
  seller: Address,
  imageGenerator: ImageGenerator = new LocalImageGenerator(),
) {
  const dataDir = mkdtempSync(join(tmpdir(), 'gateway-bs-'));
  const gateway = await startGateway({
    port: 0,
    sellerAddress: seller,
    network: 'devnet',
    facilitatorUrl: facilitator.url,
    dataDir,
    rpcUrl: provided.rpcUrl,
    explorerUrl: provided.explorerUrl,
    imageUrlSecret: 'x'.repeat(32),
    imageGenerator,
    imageDelivery: 'url',
    logger: createMemoryLogger(),
    batchSettlement: { claimIntervalSeconds: 0 },
  });
  cleanups.push(async () => {
    await gateway.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });
  const channels = gateway.channels;
  if (channels === undefined) throw new Error('batch-settlement is off');
  return { gateway, channels };
}

/** The official client with only batch-settlement registered; `deposit` is its session budget. */
function officialClient(privateKey: `0x${string}`, deposit: bigint) {
  const signer = toClientEvmSigner(privateKeyToAccount(privateKey), devnet.publicClient);
  const scheme = new BatchSettlementClientScheme(signer, { depositStrategy: () => deposit });
  return { scheme, pay: wrapFetchWithPayment(fetch, new x402Client().register(network.caip2, scheme)) };
}

/** The gateway's `GET /channels/:id/transactions`, parsed with the shared schema. */
async function channelTransactions(url: string, channelId: string) {
  const res = await fetch(`${url}/channels/${channelId}/transactions`);
  expect(res.status).toBe(200);
  return ChannelTransactionsResponse.parse(await res.json()).transactions;
}

describe('batch-settlement on the devnet with the official client', () => {
  it('buys 25 images with one deposit transaction, then one claim and one settle pay the receiver 25 × price; the rest is refunded', async () => {
    const [payer] = await devnet.fundPayers(1, 2_000_000n, 10n ** 17n);
    if (payer === undefined) throw new Error('no payer');
    const seller = privateKeyToAccount(generatePrivateKey()).address;
    // The 10th generation fails: its voucher must stay usable (nothing charged, no 402).
    const local = new LocalImageGenerator();
    let generations = 0;
    const flaky: ImageGenerator = {
      name: local.name,
      generate: (request, options) => {
        generations += 1;
        if (generations === 10) throw new ImagingError('generation_failed', 'the 10th generation fails');
        return local.generate(request, options);
      },
    };
    const { gateway, channels } = await startChannelGateway(seller, flaky);

    const startBlock = await devnet.publicClient.getBlockNumber();
    const settlerNonceBefore = await devnet.publicClient.getTransactionCount({ address: settler });
    const payerBefore = await devnet.usdcBalance(payer.address);

    // The official client: only batch-settlement registered; the session budget as its deposit.
    const { scheme, pay } = officialClient(payer.privateKey, DEPOSIT);

    // The 402 offers both schemes, batch-settlement with the spec's extra fields.
    const quote = await fetch(`${gateway.url}/generate_image`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ request_id: 'quote', prompt: 'a quote' }),
    });
    expect(quote.status).toBe(402);
    const offered = JSON.parse(Buffer.from(quote.headers.get('payment-required') ?? '', 'base64').toString());
    expect(offered.accepts.map((a: { scheme: string }) => a.scheme)).toStrictEqual([
      'exact',
      'batch-settlement',
    ]);
    expect(offered.accepts[1]).toStrictEqual({
      scheme: 'batch-settlement',
      network: network.caip2,
      amount: PRICE.toString(),
      asset: provided.usdcAddress,
      payTo: seller,
      maxTimeoutSeconds: 300,
      extra: {
        name: 'USDC',
        version: '2',
        receiverAuthorizer: facilitator.receiverAuthorizer,
        withdrawDelay: 900,
        minDeposit: (10n * PRICE).toString(),
      },
    });

    const transactions: string[] = [];
    const charged: string[] = [];
    let failures = 0;
    let delivered = 0;
    for (let i = 0; delivered < IMAGES; i++) {
      const response = await pay(`${gateway.url}/generate_image`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ request_id: `bs-${i}`, prompt: `image number ${i}` }),
      });
      const body = (await response.json()) as Record<string, unknown>;
      if (response.status === 502) {
        expect(body.error).toBe('generation_failed');
        failures += 1;
        continue;
      }
      expect(response.status, JSON.stringify(body)).toBe(200);
      expect(ChannelPurchaseResponse.parse(body)).toMatchObject({
        status: 'payment_charged',
        scheme: 'batch-settlement',
        request_id: `bs-${i}`,
        payer: payer.address,
        atomic_amount: PRICE.toString(),
      });
      const settle = decodePaymentResponseHeader(response.headers.get('payment-response') ?? '');
      expect(settle.success).toBe(true);
      expect(settle.extra?.chargedAmount).toBe(PRICE.toString());
      if (settle.transaction !== '') transactions.push(settle.transaction);
      charged.push(String(body.charged_cumulative_amount));
      delivered += 1;
    }
    expect(failures).toBe(1);
    // One deposit transaction, on the first purchase; every later image is a voucher.
    expect(transactions).toHaveLength(1);
    expect(charged).toStrictEqual(
      Array.from({ length: IMAGES }, (_, i) => (BigInt(i + 1) * PRICE).toString()),
    );
    const deposits = await transfers({ from: payer.address }, startBlock);
    expect(deposits).toHaveLength(1);
    expect(deposits[0]?.args.value).toBe(DEPOSIT);
    expect(await devnet.usdcBalance(seller)).toBe(0n); // nothing paid yet: charges are off chain

    // One later claim (one voucher, the latest) and one settle.
    const run = await channels.claims.runOnce();
    expect(run.claims).toHaveLength(1);
    expect(run.claims[0]?.vouchers).toBe(1);
    expect(run.settle?.transaction).toMatch(/^0x[0-9a-f]{64}$/);
    const paid = await transfers({ to: seller }, startBlock);
    expect(paid).toHaveLength(1);
    expect(paid[0]?.args.from?.toLowerCase()).toBe(BATCH_SETTLEMENT_ADDRESS.toLowerCase());
    expect(await devnet.usdcBalance(seller)).toBe(BigInt(IMAGES) * PRICE);
    // A second pass has nothing to claim and nothing to settle (no transaction).
    expect(await channels.claims.runOnce()).toStrictEqual({ claims: [], settle: undefined, refunds: [] });
    // The payer can see both transactions of its channel (they are on chain, and succeeded).
    const [open] = await channels.payments.storage.list();
    if (open === undefined) throw new Error('no open channel');
    const malformed = await fetch(`${gateway.url}/channels/0x1234/transactions`);
    expect([malformed.status, ((await malformed.json()) as { error: string }).error]).toStrictEqual([
      400,
      'invalid_channel_id',
    ]);
    const logged = await channelTransactions(gateway.url, open.channelId);
    expect(logged.map(({ kind, transaction_hash }) => [kind, transaction_hash])).toStrictEqual([
      ['claim', run.claims[0]?.transaction],
      ['settle', run.settle?.transaction],
    ]);
    for (const { transaction_hash } of logged) {
      const receipt = await devnet.publicClient.getTransactionReceipt({
        hash: transaction_hash as `0x${string}`,
      });
      expect(receipt.status).toBe('success');
    }

    // The payer ends the session: the official client's cooperative refund through the gateway.
    const refund = await scheme.refund(`${gateway.url}/generate_image`, { fetch });
    expect(refund).toMatchObject({ success: true, amount: (DEPOSIT - BigInt(IMAGES) * PRICE).toString() });
    expect(await devnet.usdcBalance(payer.address)).toBe(payerBefore - BigInt(IMAGES) * PRICE);
    expect(await channels.payments.storage.list()).toStrictEqual([]);

    // Transactions sent for the whole session: deposit, claim, settle, refund.
    const sent = (await devnet.publicClient.getTransactionCount({ address: settler })) - settlerNonceBefore;
    expect(sent).toBe(4);
  }, 180_000);
  it('a refund before any claim pass claims the vouchers in its own transaction; the next pass settles them to the seller', async () => {
    const [payer] = await devnet.fundPayers(1, 1_000_000n, 10n ** 17n);
    if (payer === undefined) throw new Error('no payer');
    const seller = privateKeyToAccount(generatePrivateKey()).address;
    const { gateway, channels } = await startChannelGateway(seller);
    const { scheme, pay } = officialClient(payer.privateKey, 10n * PRICE);
    const payerBefore = await devnet.usdcBalance(payer.address);
    for (let i = 0; i < 3; i++) {
      const response = await pay(`${gateway.url}/generate_image`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ request_id: `early-refund-${i}`, prompt: `image ${i}` }),
      });
      expect(response.status, await response.clone().text()).toBe(200);
    }
    const [channel] = await channels.payments.storage.list();
    if (channel === undefined) throw new Error('no open channel');
    const refund = await scheme.refund(`${gateway.url}/generate_image`, { fetch });
    expect(refund).toMatchObject({ success: true, amount: (7n * PRICE).toString() });
    expect(await devnet.usdcBalance(payer.address)).toBe(payerBefore - 3n * PRICE);
    // Claimed on chain by the refund, not yet paid out: the seller has nothing.
    expect(await devnet.usdcBalance(seller)).toBe(0n);

    // The pass has no voucher to claim, yet settles: the refund raised the settle-due flag.
    const run = await channels.claims.runOnce();
    expect(run.claims).toStrictEqual([]);
    expect(run.settle?.transaction).toMatch(/^0x[0-9a-f]{64}$/);
    expect(await devnet.usdcBalance(seller)).toBe(3n * PRICE);
    // The payer's channel lists that settle (its claim was the refund's own transaction).
    expect(
      (await channelTransactions(gateway.url, channel.channelId)).map(({ kind, transaction_hash }) => [
        kind,
        transaction_hash,
      ]),
    ).toStrictEqual([['settle', run.settle?.transaction]]);
    // The flag is lowered: the next pass sends nothing.
    expect(await channels.claims.runOnce()).toStrictEqual({ claims: [], settle: undefined, refunds: [] });
  }, 120_000);
});
