/**
 * The gateway on the real devnet with the real facilitator: official x402 clients (v2 `@x402/fetch`,
 * v1 `x402-fetch`) buy images end to end, and every rejection is checked on chain (no USDC moved).
 */

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  connectDevnet,
  type DevnetAccount,
  type DevnetClient,
  devnetChain,
  usdcAbi,
} from '@agentic-payments/devnet';
import type {} from '@agentic-payments/devnet/global-setup';
import {
  createMemoryLogger as createFacilitatorLogger,
  type RunningFacilitator,
  startFacilitator,
} from '@agentic-payments/facilitator';
import { type ImageGenerator, ImagingError, LocalImageGenerator } from '@agentic-payments/imaging';
import {
  authorizationToWire,
  createAuthorizationNonce,
  decodePaymentResponseHeader,
  encodeHeader,
  getNetwork,
  transferWithAuthorizationTypedData,
} from '@agentic-payments/x402';
import { registerExactEvmScheme } from '@x402/evm/exact/client';
import { wrapFetchWithPayment, x402Client } from '@x402/fetch';
import { type Address, createWalletClient, type Hex, http, parseAbiItem } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createSigner } from 'x402/types';
import { wrapFetchWithPayment as wrapFetchWithPaymentV1 } from 'x402-fetch';
import {
  createHttpFacilitatorClient,
  type FacilitatorClient,
  FacilitatorUnavailableError,
} from '../src/facilitator-client.ts';
import { createMemoryLogger } from '../src/logger.ts';
import { type StartGatewayOptions, startGateway } from '../src/start-gateway.ts';
import { closedPortUrl } from './closed-port.ts';

const provided = inject('devnet');
const network = getNetwork('devnet');
const TRANSFER = parseAbiItem('event Transfer(address indexed from, address indexed to, uint256 value)');

let devnet: DevnetClient;
let facilitator: RunningFacilitator;
const cleanups: Array<() => Promise<void> | void> = [];

beforeAll(async () => {
  devnet = connectDevnet({ rpcUrl: provided.rpcUrl });
  facilitator = await startFacilitator({
    rpcUrl: provided.rpcUrl,
    privateKey: provided.accounts.settler.privateKey,
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

async function gateway(overrides: Partial<StartGatewayOptions> = {}) {
  const dataDir = mkdtempSync(join(tmpdir(), 'gateway-devnet-'));
  const seller = privateKeyToAccount(generatePrivateKey()).address;
  const logger = createMemoryLogger();
  const running = await startGateway({
    port: 0,
    sellerAddress: seller,
    network: 'devnet',
    facilitatorUrl: facilitator.url,
    dataDir,
    rpcUrl: provided.rpcUrl,
    explorerUrl: provided.explorerUrl,
    imageUrlSecret: 'x'.repeat(32),
    logger,
    ...overrides,
  });
  cleanups.push(async () => {
    await running.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });
  return { ...running, seller, logger, dataDir };
}

async function transfers(from: Address, to: Address) {
  return devnet.publicClient.getLogs({
    address: provided.usdcAddress,
    event: TRANSFER,
    args: { from, to },
    fromBlock: 0n,
  });
}

async function fundedPayer(usdc = 1_000_000n): Promise<DevnetAccount> {
  const [payer] = await devnet.fundPayers(1, usdc, 10n ** 17n);
  if (payer === undefined) throw new Error('no payer');
  return payer;
}

/** A signed v2 payment for `seller`, built like the official client does, with overrides. */
async function signedHeader(
  payer: DevnetAccount,
  seller: Address,
  overrides: {
    value?: bigint;
    chainId?: number;
    validBefore?: bigint;
    validAfter?: bigint;
    nonce?: Hex;
    signerKey?: Hex;
  } = {},
) {
  const now = BigInt(Math.floor(Date.now() / 1000));
  const value = overrides.value ?? 40_000n;
  const authorization = {
    from: payer.address,
    to: seller,
    value,
    validAfter: overrides.validAfter ?? now - 600n,
    validBefore: overrides.validBefore ?? now + 300n,
    nonce: overrides.nonce ?? createAuthorizationNonce(),
  };
  const signature = await privateKeyToAccount(overrides.signerKey ?? payer.privateKey).signTypedData(
    transferWithAuthorizationTypedData({
      chainId: overrides.chainId ?? network.chainId,
      verifyingContract: provided.usdcAddress,
      authorization,
    }),
  );
  return encodeHeader({
    x402Version: 2,
    accepted: {
      scheme: 'exact',
      network: network.caip2,
      amount: value.toString(),
      asset: provided.usdcAddress,
      payTo: seller,
      maxTimeoutSeconds: 300,
      extra: { name: 'USDC', version: '2', chainId: network.chainId },
    },
    payload: { signature, authorization: authorizationToWire(authorization) },
  });
}

const post = (url: string, body: unknown, headers: Record<string, string> = {}) =>
  fetch(`${url}/generate_image`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });

const requestBody = (prompt = 'a lighthouse on a cliff at sunset') => ({
  request_id: `req-${crypto.randomUUID()}`,
  prompt,
});

describe('official x402 clients buy an image on the devnet', () => {
  it('@x402/fetch (v2): pays 0.04 USDC once and gets the image', async () => {
    const gw = await gateway();
    const payer = await fundedPayer();
    const before = await devnet.usdcBalance(payer.address);
    const client = new x402Client();
    registerExactEvmScheme(client, { signer: privateKeyToAccount(payer.privateKey) });
    let sentHeader: string | undefined;
    const spy: typeof fetch = async (input, init) => {
      const request = new Request(input, init);
      sentHeader ??= request.headers.get('PAYMENT-SIGNATURE') ?? undefined;
      return fetch(request);
    };
    const pay = wrapFetchWithPayment(spy, client);
    const body = requestBody();
    const res = await pay(`${gw.url}/generate_image`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    expect(res.status).toBe(200);
    const json = (await res.json()) as Record<string, string> & {
      image: { base64: string; mime_type: string };
    };
    expect(json).toMatchObject({
      status: 'payment_settled',
      request_id: body.request_id,
      payer: payer.address,
      amount: '0.04',
      atomic_amount: '40000',
      network: 'devnet',
    });
    expect(json.explorer_url).toBe(`${provided.explorerUrl}/tx/${json.transaction_hash}`);
    expect(Buffer.from(json.image.base64, 'base64').subarray(1, 4).toString()).toBe('PNG');
    const header = decodePaymentResponseHeader(res.headers.get('PAYMENT-RESPONSE'));
    expect(header).toMatchObject({
      success: true,
      transaction: json.transaction_hash,
      network: 'eip155:84532',
    });

    expect(await devnet.usdcBalance(payer.address)).toBe(before - 40_000n);
    expect(await devnet.usdcBalance(gw.seller)).toBe(40_000n);
    const logs = await transfers(payer.address, gw.seller);
    expect(logs.map((l) => [l.transactionHash, l.args.value])).toStrictEqual([
      [json.transaction_hash, 40_000n],
    ]);

    // The image link works.
    const image = await fetch(json.image_url ?? '');
    expect(image.status).toBe(200);

    // Replaying the exact paid request returns the stored result and moves nothing.
    expect(sentHeader).toBeDefined();
    const replay = await post(gw.url, body, { 'PAYMENT-SIGNATURE': sentHeader ?? '' });
    expect(replay.status).toBe(200);
    expect(((await replay.json()) as { transaction_hash: string }).transaction_hash).toBe(
      json.transaction_hash,
    );
    const reuse = await post(gw.url, requestBody(), { 'PAYMENT-SIGNATURE': sentHeader ?? '' });
    expect(reuse.status).toBe(409);
    expect(((await reuse.json()) as { error: string }).error).toBe('authorization_reused');
    expect(await transfers(payer.address, gw.seller)).toHaveLength(1);
    expect(await devnet.usdcBalance(payer.address)).toBe(before - 40_000n);
  });

  it('x402-fetch (v1): pays 0.06 USDC once (premium) and gets X-PAYMENT-RESPONSE', async () => {
    const gw = await gateway();
    const payer = await fundedPayer();
    const before = await devnet.usdcBalance(payer.address);
    const signer = await createSigner('base-sepolia', payer.privateKey);
    const pay = wrapFetchWithPaymentV1(fetch, signer);
    const body = { ...requestBody('a quiet forest in the snow'), quality: 'premium' };
    const res = await pay(`${gw.url}/generate_image`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    expect(res.status).toBe(200);
    const json = (await res.json()) as { transaction_hash: string; atomic_amount: string };
    expect(json.atomic_amount).toBe('60000');
    expect(decodePaymentResponseHeader(res.headers.get('X-PAYMENT-RESPONSE'))).toMatchObject({
      success: true,
      transaction: json.transaction_hash,
      network: 'base-sepolia',
    });
    expect(await devnet.usdcBalance(payer.address)).toBe(before - 60_000n);
    expect(await transfers(payer.address, gw.seller)).toHaveLength(1);
  });
});

describe('replays on the devnet', () => {
  it('the same authorization sent 50 times concurrently settles exactly once', async () => {
    const gw = await gateway();
    const payer = await fundedPayer();
    const before = await devnet.usdcBalance(payer.address);
    const header = await signedHeader(payer, gw.seller);
    const body = requestBody();
    const responses = await Promise.all(
      Array.from({ length: 50 }, () => post(gw.url, body, { 'PAYMENT-SIGNATURE': header })),
    );
    const statuses = responses.map((r) => r.status);
    expect(statuses.filter((s) => s === 200).length).toBeGreaterThanOrEqual(1);
    expect(statuses.every((s) => s === 200 || s === 409)).toBe(true);
    expect(await transfers(payer.address, gw.seller)).toHaveLength(1);
    expect(await devnet.usdcBalance(payer.address)).toBe(before - 40_000n);
    const again = await post(gw.url, body, { 'PAYMENT-SIGNATURE': header });
    expect(again.status).toBe(200);
    expect(await transfers(payer.address, gw.seller)).toHaveLength(1);
  });

  it('two gateway instances sharing one store settle a cross-instance replay once', async () => {
    const a = await gateway();
    // Instances share the payment store and the image store (S3 in the cloud, one directory here).
    const b = await gateway({
      dynamodbEndpoint: a.dynamodbEndpoint,
      sellerAddress: a.seller,
      dataDir: a.dataDir,
    });
    const payer = await fundedPayer();
    const before = await devnet.usdcBalance(payer.address);
    const header = await signedHeader(payer, a.seller);
    const body = requestBody();
    const concurrent = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        post(i % 2 === 0 ? a.url : b.url, body, { 'PAYMENT-SIGNATURE': header }),
      ),
    );
    expect(concurrent.map((r) => r.status).every((s) => s === 200 || s === 409)).toBe(true);
    const fromB = await post(b.url, body, { 'PAYMENT-SIGNATURE': header });
    expect(fromB.status).toBe(200);
    const reuseOnB = await post(b.url, requestBody(), { 'PAYMENT-SIGNATURE': header });
    expect(reuseOnB.status).toBe(409);
    expect(await transfers(payer.address, a.seller)).toHaveLength(1);
    expect(await devnet.usdcBalance(payer.address)).toBe(before - 40_000n);
  });
});

describe('rejections on the devnet move no USDC', () => {
  const cases: Array<[string, number, string, (payer: DevnetAccount, seller: Address) => Promise<string>]> = [
    ['underpayment', 402, 'insufficient_payment', (p, s) => signedHeader(p, s, { value: 10_000n })],
    [
      'wrong payTo',
      402,
      'pay_to_mismatch',
      (p) => signedHeader(p, privateKeyToAccount(generatePrivateKey()).address),
    ],
    [
      'bad signature (another key signed for the payer)',
      402,
      'invalid_exact_evm_signature',
      (p, s) => signedHeader(p, s, { signerKey: generatePrivateKey() }),
    ],
    ['non-base64 header', 402, 'header_not_base64', async () => '***not base64***'],
    [
      'wrong chain in the signature',
      402,
      'invalid_exact_evm_signature',
      (p, s) => signedHeader(p, s, { chainId: 1 }),
    ],
    [
      'expired authorization',
      402,
      'authorization_expired',
      (p, s) => signedHeader(p, s, { validBefore: BigInt(Math.floor(Date.now() / 1000)) - 5n }),
    ],
    [
      'not-yet-valid authorization',
      402,
      'authorization_not_yet_valid',
      (p, s) => signedHeader(p, s, { validAfter: BigInt(Math.floor(Date.now() / 1000)) + 120n }),
    ],
  ];
  it.each(cases)('%s → %d %s', async (_name, status, code, build) => {
    const gw = await gateway();
    const payer = await fundedPayer();
    const before = await devnet.usdcBalance(payer.address);
    const res = await post(gw.url, requestBody(), { 'PAYMENT-SIGNATURE': await build(payer, gw.seller) });
    expect(res.status).toBe(status);
    expect(((await res.json()) as { error: string }).error).toBe(code);
    expect(await devnet.usdcBalance(payer.address)).toBe(before);
    expect(await transfers(payer.address, gw.seller)).toHaveLength(0);
  });

  it('generator failure → 502 and nothing settled', async () => {
    const failing: ImageGenerator = {
      name: 'failing-test-generator',
      generate: async () => {
        throw new ImagingError('generation_failed', 'test generator always fails');
      },
    };
    const gw = await gateway({ imageGenerator: failing });
    const payer = await fundedPayer();
    const before = await devnet.usdcBalance(payer.address);
    const res = await post(gw.url, requestBody(), {
      'PAYMENT-SIGNATURE': await signedHeader(payer, gw.seller),
    });
    expect(res.status).toBe(502);
    expect(((await res.json()) as { error: string }).error).toBe('generation_failed');
    expect(await devnet.usdcBalance(payer.address)).toBe(before);
  });

  it('facilitator down → 503 facilitator_unavailable and nothing settled', async () => {
    const gw = await gateway({ facilitatorUrl: await closedPortUrl() });
    const payer = await fundedPayer();
    const before = await devnet.usdcBalance(payer.address);
    const res = await post(gw.url, requestBody(), {
      'PAYMENT-SIGNATURE': await signedHeader(payer, gw.seller),
    });
    expect(res.status).toBe(503);
    expect(((await res.json()) as { error: string }).error).toBe('facilitator_unavailable');
    expect(await devnet.usdcBalance(payer.address)).toBe(before);
  });

  it('settlement fails (the payer spent the funds during generation) → 402, no image', async () => {
    let payer: DevnetAccount | undefined;
    const local = new LocalImageGenerator();
    // Between verify and settle the payer moves its USDC away, so the transfer can no longer succeed.
    const draining: ImageGenerator = {
      name: 'draining-test-generator',
      generate: async (req, opts) => {
        if (payer === undefined) throw new Error('no payer');
        const wallet = privateKeyToAccount(payer.privateKey);
        const balance = await devnet.usdcBalance(payer.address);
        const client = createWalletClient({
          account: wallet,
          chain: devnetChain(provided.rpcUrl),
          transport: http(provided.rpcUrl),
        });
        const hash = await client.writeContract({
          address: provided.usdcAddress,
          abi: usdcAbi,
          functionName: 'transfer',
          args: [provided.accounts.deployer.address, balance],
        });
        await devnet.publicClient.waitForTransactionReceipt({ hash });
        return local.generate(req, opts);
      },
    };
    const gw = await gateway({ imageGenerator: draining });
    payer = await fundedPayer(50_000n);
    const res = await post(gw.url, requestBody(), {
      'PAYMENT-SIGNATURE': await signedHeader(payer, gw.seller),
    });
    expect(res.status).toBe(402);
    const json = (await res.json()) as Record<string, unknown>;
    expect(json).not.toHaveProperty('image');
    expect(json.error).toBe('invalid_exact_evm_insufficient_balance');
    expect(await transfers(payer.address, gw.seller)).toHaveLength(0);
  });
});

describe('recovery of an interrupted settlement on the devnet', () => {
  it('a settle whose answer was lost is resolved from the chain on retry, without settling again', async () => {
    const real = createHttpFacilitatorClient({ url: facilitator.url });
    let settles = 0;
    // The facilitator settles for real, but its answer never reaches the gateway (a timeout).
    const losingAnswers: FacilitatorClient = {
      verify: (request) => real.verify(request),
      supported: () => real.supported(),
      settle: async (request) => {
        settles++;
        await real.settle(request);
        throw new FacilitatorUnavailableError('facilitator /settle timed out (test)', { delivered: true });
      },
    };
    const clock = { offsetMs: 0, now: () => Date.now() + clock.offsetMs };
    const gw = await gateway({ facilitator: losingAnswers, clock });
    const payer = await fundedPayer();
    const before = await devnet.usdcBalance(payer.address);
    const header = await signedHeader(payer, gw.seller);
    const body = requestBody();

    const first = await post(gw.url, body, { 'PAYMENT-SIGNATURE': header });
    expect(first.status).toBe(504);
    expect(((await first.json()) as { error: string }).error).toBe('settlement_pending');
    const [transfer] = await transfers(payer.address, gw.seller);
    expect(transfer).toBeDefined();

    clock.offsetMs = 1;
    const retry = await post(gw.url, body, { 'PAYMENT-SIGNATURE': header });
    expect(retry.status).toBe(200);
    const json = (await retry.json()) as { transaction_hash: string; image: { base64: string } };
    expect(json.transaction_hash).toBe(transfer?.transactionHash);
    expect(json.image.base64.length).toBeGreaterThan(100);
    expect(settles).toBe(1);
    expect(await transfers(payer.address, gw.seller)).toHaveLength(1);
    expect(await devnet.usdcBalance(payer.address)).toBe(before - 40_000n);
  });
});

describe('startGateway', () => {
  it('keeps payment records and image links across a restart on the same DATA_DIR', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'gateway-restart-'));
    cleanups.push(() => rmSync(dataDir, { recursive: true, force: true }));
    const seller = privateKeyToAccount(generatePrivateKey()).address;
    const options = {
      port: 0,
      sellerAddress: seller,
      network: 'devnet',
      facilitatorUrl: facilitator.url,
      dataDir,
      logger: createMemoryLogger(),
    } as const;
    const payer = await fundedPayer();
    const header = await signedHeader(payer, seller);
    const body = requestBody();

    const first = await startGateway(options);
    const paid = await post(first.url, body, { 'PAYMENT-SIGNATURE': header });
    expect(paid.status).toBe(200);
    const {
      image_id: imageId,
      transaction_hash: tx,
      image_url: firstLink,
    } = (await paid.json()) as Record<string, string>;
    await first.stop();

    const second = await startGateway(options);
    try {
      const replay = await post(second.url, body, { 'PAYMENT-SIGNATURE': header });
      expect(replay.status).toBe(200);
      const json = (await replay.json()) as Record<string, string>;
      expect([json.image_id, json.transaction_hash]).toStrictEqual([imageId, tx]);
      expect((await fetch(json.image_url ?? '')).status).toBe(200);
      // A link handed out before the restart still works (same port is not guaranteed: swap the origin).
      const before = new URL(firstLink ?? '');
      expect((await fetch(`${second.url}${before.pathname}${before.search}`)).status).toBe(200);
      expect(await transfers(payer.address, seller)).toHaveLength(1);
    } finally {
      await second.stop();
    }
  });
});
