/**
 * The cloud claim job (`src/claim-lambda.ts`, run by an EventBridge schedule after `cdk deploy`) as
 * Lambda runs it: its exported handler, configured only by env, against the payment table of a
 * gateway that sold images over a channel (dynalite endpoint), our facilitator with authorizer
 * tokens (as in the cloud) and the devnet. It claims and settles what was charged, refunds the idle
 * channel, then finds nothing due; with a wrong token it moves nothing.
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
import { getNetwork, priceForImage } from '@agentic-payments/x402';
import { toClientEvmSigner } from '@x402/evm';
import { BatchSettlementEvmScheme as BatchSettlementClientScheme } from '@x402/evm/batch-settlement/client';
import { wrapFetchWithPayment, x402Client } from '@x402/fetch';
import { type Address, parseAbiItem } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { createMemoryLogger } from '../src/logger.ts';
import { type RunningGateway, startGateway } from '../src/start-gateway.ts';

const provided = inject('devnet');
const network = getNetwork('devnet');
const PRICE = priceForImage({ size: '1024x1024', quality: 'standard' });
const IMAGES = 3;
const DEPOSIT = 10n * PRICE;
const TOKEN = 'claim-job-token-0123456789abcdef';
const TRANSFER = parseAbiItem('event Transfer(address indexed from, address indexed to, uint256 value)');

let devnet: DevnetClient;
let settler: Address;
let facilitator: RunningFacilitator;
let gateway: RunningGateway;
let dataDir: string;
const seller = privateKeyToAccount(generatePrivateKey()).address;
const savedEnv = { ...process.env };

beforeAll(async () => {
  devnet = connectDevnet({ rpcUrl: provided.rpcUrl });
  // A settler of this file's own: other test files settle in parallel on the shared devnet, and
  // this file counts its settler's transactions.
  const [own] = await devnet.fundPayers(1, 0n, 10n ** 18n);
  if (own === undefined) throw new Error('no settler');
  settler = own.address;
  // As in the cloud: the facilitator signs claims and refunds only for a server with a token.
  facilitator = await startFacilitator({
    rpcUrl: provided.rpcUrl,
    privateKey: own.privateKey,
    network: 'devnet',
    port: 0,
    receiptTimeoutMs: 10_000,
    batchSettlement: { authorizerTokens: [TOKEN] },
    logger: createFacilitatorLogger(),
  });
  dataDir = mkdtempSync(join(tmpdir(), 'gateway-claim-job-'));
  gateway = await startGateway({
    port: 0,
    sellerAddress: seller,
    network: 'devnet',
    facilitatorUrl: facilitator.url,
    facilitatorToken: TOKEN,
    dataDir,
    rpcUrl: provided.rpcUrl,
    imageUrlSecret: 'x'.repeat(32),
    imageDelivery: 'url',
    logger: createMemoryLogger(),
    batchSettlement: { claimIntervalSeconds: 0 }, // the claim job below is the only claimer
  });
});

afterAll(async () => {
  process.env = savedEnv;
  await gateway?.stop();
  await facilitator?.stop();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

/** The claim job's handler, loaded fresh as a new Lambda container would, with `env` as its configuration. */
async function coldStart(env: Record<string, string>) {
  process.env = { ...savedEnv, ...env };
  vi.resetModules();
  const module = await import('../src/claim-lambda.ts');
  return module.handler;
}

const lambdaEnv = (token: string): Record<string, string> => ({
  NETWORK: 'devnet',
  SELLER_ADDRESS: seller,
  FACILITATOR_URL: facilitator.url,
  FACILITATOR_KIND: 'ours',
  FACILITATOR_TOKEN: token,
  PAYMENT_TABLE: 'payments',
  DYNAMODB_ENDPOINT: gateway.dynamodbEndpoint ?? '',
  AWS_REGION: 'us-east-1',
  AWS_ACCESS_KEY_ID: 'local',
  AWS_SECRET_ACCESS_KEY: 'local',
  BATCH_SETTLEMENT: 'on',
  CHANNEL_WITHDRAW_DELAY_SECONDS: '900',
  CHANNEL_REFUND_IDLE_SECONDS: '1',
});

describe('claim-lambda handler (the scheduled claim job) on the devnet', () => {
  it('claims and settles the charged channel, refunds it when idle, then finds nothing due; a wrong token moves nothing', async () => {
    const [payer] = await devnet.fundPayers(1, 1_000_000n, 10n ** 17n);
    if (payer === undefined) throw new Error('no payer');
    const signer = toClientEvmSigner(privateKeyToAccount(payer.privateKey), devnet.publicClient);
    const scheme = new BatchSettlementClientScheme(signer, { depositStrategy: () => DEPOSIT });
    const pay = wrapFetchWithPayment(fetch, new x402Client().register(network.caip2, scheme));
    const startBlock = await devnet.publicClient.getBlockNumber();
    const payerBefore = await devnet.usdcBalance(payer.address);
    for (let i = 0; i < IMAGES; i++) {
      const response = await pay(`${gateway.url}/generate_image`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ request_id: `claim-job-${i}`, prompt: `image ${i}` }),
      });
      expect(response.status, await response.clone().text()).toBe(200);
    }
    const channels = gateway.channels?.payments.storage;
    if (channels === undefined) throw new Error('batch-settlement is off');
    const [channel] = await channels.list();
    expect(channel?.chargedCumulativeAmount).toBe((BigInt(IMAGES) * PRICE).toString());
    expect(channel?.totalClaimed).toBe('0');
    const nonce = () => devnet.publicClient.getTransactionCount({ address: settler });
    const afterDeposit = await nonce();
    await new Promise((resolve) => setTimeout(resolve, 1_100)); // the channel is now idle (1 s)

    // A container whose token the facilitator does not accept: the pass fails, nothing is sent or changed.
    const refused = await coldStart(lambdaEnv('wrong-token-0123456789abcdef'));
    await expect(refused()).rejects.toMatchObject({
      code: 'facilitator_unavailable',
      message: 'facilitator /settle answered HTTP 401',
    });
    expect(await nonce()).toBe(afterDeposit);
    expect(await channels.list()).toStrictEqual([channel]);

    // The real configuration: one claim (the latest voucher), one settle, the idle channel refunded.
    const handler = await coldStart(lambdaEnv(TOKEN));
    const first = await handler();
    expect(first).toMatchObject({ claims: 1, vouchers: 1, refunds: 1 });
    expect(first.settle).toMatch(/^0x[0-9a-f]{64}$/);
    expect(await devnet.usdcBalance(seller)).toBe(BigInt(IMAGES) * PRICE);
    const paid = await devnet.publicClient.getLogs({
      address: provided.usdcAddress,
      event: TRANSFER,
      args: { to: seller as Address },
      fromBlock: startBlock,
    });
    expect(paid.map((log) => log.args.from?.toLowerCase())).toStrictEqual([
      BATCH_SETTLEMENT_ADDRESS.toLowerCase(),
    ]);
    expect(await devnet.usdcBalance(payer.address)).toBe(payerBefore - BigInt(IMAGES) * PRICE);
    expect(await channels.list()).toStrictEqual([]);
    expect((await nonce()) - afterDeposit).toBe(3); // claim, settle, refund

    // The next scheduled run: nothing due, no transaction.
    expect(await handler()).toStrictEqual({ claims: 0, vouchers: 0, settle: undefined, refunds: 0 });
    expect((await nonce()) - afterDeposit).toBe(3);
  }, 120_000);
});
