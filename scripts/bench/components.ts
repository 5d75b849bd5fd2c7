/**
 * Component costs, each measured alone (sequential, one at a time): verify and settle through each
 * facilitator over HTTP (the official HTTPFacilitatorClient calls both), JSON-RPC round trips per
 * verify / settle (through a counting pass-through), EIP-712 signature recovery rate, local image
 * generation at 1024x1024, and the unpaid 402 round trip of each seller.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { type Devnet, deriveDevnetAccount } from '@agentic-payments/devnet';
import {
  createMemoryLogger as createFacilitatorLogger,
  startFacilitator,
} from '@agentic-payments/facilitator';
import {
  createMemoryLogger as createGatewayLogger,
  createMemoryPaymentStore,
  startGateway,
} from '@agentic-payments/gateway';
import { LocalImageGenerator } from '@agentic-payments/imaging';
import {
  createAuthorizationNonce,
  getNetwork,
  transferWithAuthorizationTypedData,
} from '@agentic-payments/x402';
import { x402Client } from '@x402/core/client';
import { HTTPFacilitatorClient } from '@x402/core/server';
import type { PaymentPayload, PaymentRequired, PaymentRequirements } from '@x402/core/types';
import { registerExactEvmScheme } from '@x402/evm/exact/client';
import { type Hex, hashTypedData, hexToBytes, keccak256, recoverTypedDataAddress } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { PRICE_ATOMIC, PROMPT, paidRequest, payingFetch } from './paid-requests.ts';
import { startReferenceFacilitator, startReferenceSeller } from './reference-stack.ts';
import { startRpcCounter } from './rpc-counter.ts';
import { REPO_ROOT } from './services.ts';
import { type LatencySummary, summarize } from './stats.ts';

export interface FacilitatorCosts {
  verifyMs: LatencySummary;
  settleMs: LatencySummary;
  /** Per call, averaged over the counted calls. */
  rpcPerVerify: { httpRequests: number; calls: Record<string, number> };
  rpcPerSettle: { httpRequests: number; calls: Record<string, number> };
  failures: number;
}

export interface ComponentResults {
  facilitators: { ours: FacilitatorCosts; reference: FacilitatorCosts };
  signatureRecovery: {
    viemRecoverTypedDataAddressPerSecond: number;
    nativeSecp256k1PerSecond: number | undefined;
    nativeNote: string;
  };
  imageGeneration1024Ms: LatencySummary;
  paymentRequired402Ms: { ours: LatencySummary; reference: LatencySummary };
  /** Paid request latency at concurrency 1 (full client flow) with one part of our path swapped. */
  pathVariants: Array<{ variant: string; ok: number; requests: number; latencyMs: LatencySummary }>;
}

const network = getNetwork('devnet');

function paymentRequired(payTo: Hex): PaymentRequired {
  return {
    x402Version: 2,
    resource: {
      url: 'http://127.0.0.1/generate_image',
      description: 'one image',
      mimeType: 'application/json',
    },
    accepts: [
      {
        scheme: 'exact',
        network: network.caip2,
        asset: network.usdcAddress,
        amount: PRICE_ATOMIC.toString(),
        payTo,
        maxTimeoutSeconds: 300,
        extra: { name: 'USDC', version: '2' },
      },
    ],
  };
}

async function timed<T>(fn: () => Promise<T>): Promise<[number, T]> {
  const t0 = performance.now();
  const value = await fn();
  return [performance.now() - t0, value];
}

function perCall(snapshot: { httpRequests: number; calls: Record<string, number> }, n: number) {
  const calls: Record<string, number> = {};
  for (const [method, count] of Object.entries(snapshot.calls))
    calls[method] = Math.round((count / n) * 100) / 100;
  return { httpRequests: Math.round((snapshot.httpRequests / n) * 100) / 100, calls };
}

async function facilitatorCosts(options: {
  url: string;
  countedUrl: string;
  counter: Awaited<ReturnType<typeof startRpcCounter>>;
  client: x402Client;
  seller: Hex;
  samples: number;
}): Promise<FacilitatorCosts> {
  const required = paymentRequired(options.seller);
  const requirements = required.accepts[0] as PaymentRequirements;
  let failures = 0;
  const measure = async (url: string, n: number) => {
    const http = new HTTPFacilitatorClient({ url });
    // Payloads are signed before the timed calls: only the facilitator's work is measured.
    const payloads: PaymentPayload[] = [];
    for (let i = 0; i < n; i++) payloads.push(await options.client.createPaymentPayload(required));
    const verify: number[] = [];
    const settle: number[] = [];
    for (const payload of payloads) {
      const [v, verified] = await timed(() => http.verify(payload, requirements));
      verify.push(v);
      const [s, settled] = await timed(() => http.settle(payload, requirements));
      settle.push(s);
      if (!verified.isValid || !settled.success) failures += 1;
    }
    return { verify, settle };
  };
  await measure(options.url, 3); // warm-up
  failures = 0;
  const { verify, settle } = await measure(options.url, options.samples);

  // RPC round trips: the same facilitator code pointed at the counting pass-through.
  const http = new HTTPFacilitatorClient({ url: options.countedUrl });
  const payloads: PaymentPayload[] = [];
  const n = Math.min(10, options.samples);
  for (let i = 0; i < n + 1; i++) payloads.push(await options.client.createPaymentPayload(required));
  const first = payloads.shift() as PaymentPayload; // warm (chain id, fees caches)
  await http.verify(first, requirements);
  await http.settle(first, requirements);
  let verifyCalls = { httpRequests: 0, calls: {} as Record<string, number> };
  let settleCalls = { httpRequests: 0, calls: {} as Record<string, number> };
  const add = (a: typeof verifyCalls, b: typeof verifyCalls) => {
    const calls = { ...a.calls };
    for (const [k, v] of Object.entries(b.calls)) calls[k] = (calls[k] ?? 0) + v;
    return { httpRequests: a.httpRequests + b.httpRequests, calls };
  };
  for (const payload of payloads) {
    options.counter.reset();
    await http.verify(payload, requirements);
    verifyCalls = add(verifyCalls, options.counter.snapshot());
    options.counter.reset();
    await http.settle(payload, requirements);
    // Receipt polling may still be in flight for a moment after the reply; counted as of the reply.
    settleCalls = add(settleCalls, options.counter.snapshot());
  }
  return {
    verifyMs: summarize(verify),
    settleMs: summarize(settle),
    rpcPerVerify: perCall(verifyCalls, n),
    rpcPerSettle: perCall(settleCalls, n),
    failures,
  };
}

interface NativeSecp256k1 {
  ecdsaRecover(sig: Uint8Array, recid: number, msg32: Uint8Array, compressed?: boolean): Uint8Array;
}

function loadNativeSecp256k1(): NativeSecp256k1 | undefined {
  // Not a dependency of ours: present in the workspace store through the Coinbase SDK. Measured as a
  // candidate only; `secp256k1/bindings` is the N-API build (no silent fallback to JS elliptic).
  try {
    const require = createRequire(join(REPO_ROOT, 'node_modules/.pnpm/node_modules/noop.js'));
    return require('secp256k1/bindings') as NativeSecp256k1;
  } catch {
    return undefined;
  }
}

async function signatureRecovery(quick: boolean): Promise<ComponentResults['signatureRecovery']> {
  const payer = deriveDevnetAccount(10);
  const account = privateKeyToAccount(payer.privateKey);
  const count = quick ? 50 : 200;
  const items: Array<{ typed: ReturnType<typeof transferWithAuthorizationTypedData>; signature: Hex }> = [];
  for (let i = 0; i < count; i++) {
    const typed = transferWithAuthorizationTypedData({
      chainId: network.chainId,
      verifyingContract: network.usdcAddress,
      authorization: {
        from: payer.address,
        to: deriveDevnetAccount(3).address,
        value: PRICE_ATOMIC,
        validAfter: 0n,
        validBefore: 2n ** 40n,
        nonce: createAuthorizationNonce(),
      },
    });
    items.push({ typed, signature: await account.signTypedData(typed) });
  }
  const t0 = performance.now();
  for (const { typed, signature } of items) {
    const address = await recoverTypedDataAddress({ ...typed, signature });
    if (address !== payer.address) throw new Error('viem recovery returned the wrong address');
  }
  const viemRate = (count * 1000) / (performance.now() - t0);

  const native = loadNativeSecp256k1();
  let nativeRate: number | undefined;
  if (native) {
    const prepared = items.map(({ typed, signature }) => {
      const bytes = hexToBytes(signature);
      const v = bytes[64] ?? 27;
      return { typed, sig: bytes.slice(0, 64), recid: v >= 27 ? v - 27 : v };
    });
    // Same job as viem's: EIP-712 hash, recover the public key, derive the address.
    const t1 = performance.now();
    for (const { typed, sig, recid } of prepared) {
      const pub = native.ecdsaRecover(sig, recid, hexToBytes(hashTypedData(typed)), false);
      const address = `0x${keccak256(pub.slice(1), 'hex').slice(26)}`;
      if (address !== payer.address.toLowerCase())
        throw new Error('native recovery returned the wrong address');
    }
    nativeRate = (count * 1000) / (performance.now() - t1);
  }
  return {
    viemRecoverTypedDataAddressPerSecond: Math.round(viemRate),
    nativeSecp256k1PerSecond: nativeRate === undefined ? undefined : Math.round(nativeRate),
    nativeNote:
      native === undefined
        ? 'no native secp256k1 binding could be loaded; none is in use by our facilitator'
        : 'native `secp256k1` (libsecp256k1 N-API) found in the workspace store via the Coinbase SDK; NOT in use by our facilitator (it recovers with viem / noble in JS). Rate includes EIP-712 hashing and keccak address derivation.',
  };
}

async function imageGeneration(samples: number): Promise<LatencySummary> {
  const generator = new LocalImageGenerator();
  const times: number[] = [];
  for (let i = 0; i < samples + 1; i++) {
    const [ms] = await timed(() =>
      generator.generate({ prompt: `${PROMPT} ${i}`, width: 1024, height: 1024, quality: 'standard' }),
    );
    if (i > 0) times.push(ms); // the first one warms the JIT
  }
  return summarize(times);
}

async function roundTrip402(url: string, samples: number): Promise<LatencySummary> {
  const times: number[] = [];
  for (let i = 0; i < samples + 5; i++) {
    const [ms, status] = await timed(async () => {
      const res = await fetch(`${url}/generate_image`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          request_id: `rt-${i}`,
          prompt: PROMPT,
          size: '1024x1024',
          quality: 'standard',
        }),
      });
      await res.arrayBuffer();
      return res.status;
    });
    if (status !== 402) throw new Error(`expected 402 from ${url}, got ${status}`);
    if (i >= 5) times.push(ms);
  }
  return summarize(times);
}

export async function runComponents(options: {
  devnet: Devnet;
  quick: boolean;
  log: (line: string) => void;
}): Promise<ComponentResults> {
  const { devnet, quick, log } = options;
  const samples = quick ? 10 : 30;
  const seller = devnet.accounts.seller.address;
  const [payer] = await devnet.fundPayers(1, 1_000n * PRICE_ATOMIC);
  if (payer === undefined) throw new Error('no payer');
  const client = new x402Client();
  registerExactEvmScheme(client, { signer: privateKeyToAccount(payer.privateKey) });
  const referenceSettler = deriveDevnetAccount(7);
  await devnet.addEth(referenceSettler.address, 1_000n * 10n ** 18n);

  const counter = await startRpcCounter(devnet.rpcUrl);
  const dataDir = mkdtempSync(join(tmpdir(), 'bench-components-'));
  const cleanups: Array<() => Promise<unknown>> = [];
  try {
    const oursSettler = devnet.accounts.settler.privateKey;
    const ours = await startFacilitator({
      rpcUrl: devnet.rpcUrl,
      privateKey: oursSettler,
      network: 'devnet',
      port: 0,
      logger: createFacilitatorLogger(),
    });
    cleanups.push(ours.stop);
    // A second settler key for the counted run, so the two instances never share a nonce sequence.
    const oursCountedKey = deriveDevnetAccount(6);
    await devnet.addEth(oursCountedKey.address, 1_000n * 10n ** 18n);
    const oursCounted = await startFacilitator({
      rpcUrl: counter.url,
      privateKey: oursCountedKey.privateKey,
      network: 'devnet',
      port: 0,
      logger: createFacilitatorLogger(),
    });
    cleanups.push(oursCounted.stop);
    const reference = await startReferenceFacilitator({
      rpcUrl: devnet.rpcUrl,
      settlerKey: referenceSettler.privateKey,
    });
    cleanups.push(reference.stop);
    const referenceCounted = await startReferenceFacilitator({
      rpcUrl: counter.url,
      settlerKey: referenceSettler.privateKey,
    });
    cleanups.push(referenceCounted.stop);

    log('  verify / settle through our facilitator');
    const oursCosts = await facilitatorCosts({
      url: ours.url,
      countedUrl: oursCounted.url,
      counter,
      client,
      seller,
      samples,
    });
    log('  verify / settle through the reference facilitator');
    const referenceCosts = await facilitatorCosts({
      url: reference.url,
      countedUrl: referenceCounted.url,
      counter,
      client,
      seller,
      samples,
    });

    log('  signature recovery');
    const signatureRecoveryResult = await signatureRecovery(quick);
    log('  image generation 1024x1024');
    const image = await imageGeneration(quick ? 3 : 8);

    log('  402 round trips');
    const gateway = await startGateway({
      port: 0,
      sellerAddress: seller,
      network: 'devnet',
      facilitatorUrl: ours.url,
      dataDir,
      rpcUrl: devnet.rpcUrl,
      imageUrlSecret: 'bench-only-image-url-secret-0123456789',
      logger: createGatewayLogger(),
    });
    cleanups.push(gateway.stop);
    const referenceSeller = await startReferenceSeller({
      facilitatorUrl: reference.url,
      sellerAddress: seller,
      imageGenerator: new LocalImageGenerator(),
    });
    cleanups.push(referenceSeller.stop);
    const rtSamples = quick ? 30 : 100;
    const paymentRequired402Ms = {
      ours: await roundTrip402(gateway.url, rtSamples),
      reference: await roundTrip402(referenceSeller.url, rtSamples),
    };
    log('  paid-path variants at concurrency 1');
    const memoryGateway = await startGateway({
      port: 0,
      sellerAddress: seller,
      network: 'devnet',
      facilitatorUrl: ours.url,
      dataDir,
      paymentStore: createMemoryPaymentStore(),
      imageUrlSecret: 'bench-only-image-url-secret-0123456789',
      logger: createGatewayLogger(),
    });
    cleanups.push(memoryGateway.stop);
    const gatewayOnReference = await startGateway({
      port: 0,
      sellerAddress: seller,
      network: 'devnet',
      facilitatorUrl: reference.url,
      dataDir: join(dataDir, 'on-reference'),
      rpcUrl: devnet.rpcUrl,
      imageUrlSecret: 'bench-only-image-url-secret-0123456789',
      logger: createGatewayLogger(),
    });
    cleanups.push(gatewayOnReference.stop);
    const pay = payingFetch(payer);
    const variants = [
      { variant: 'our gateway (dynalite store) + our facilitator', url: gateway.url },
      { variant: 'our gateway (in-memory store) + our facilitator', url: memoryGateway.url },
      { variant: 'our gateway (dynalite store) + reference facilitator', url: gatewayOnReference.url },
      { variant: 'reference seller + reference facilitator', url: referenceSeller.url },
    ];
    const variantSamples = quick ? 5 : 15;
    const pathVariants: ComponentResults['pathVariants'] = variants.map((v) => ({
      ...v,
      ok: 0,
      requests: 0,
      latencyMs: summarize([]),
    }));
    const times: number[][] = variants.map(() => []);
    // Round-robin over the variants so background load hits each alike; one warm-up round first.
    for (let round = 0; round <= variantSamples; round++) {
      for (const [i, v] of variants.entries()) {
        const [ms, outcome] = await timed(() => paidRequest(pay, v.url));
        if (round === 0) continue;
        const entry = pathVariants[i] as ComponentResults['pathVariants'][number];
        entry.requests += 1;
        if (outcome.ok) {
          entry.ok += 1;
          times[i]?.push(ms);
        }
      }
    }
    for (const [i, entry] of pathVariants.entries()) entry.latencyMs = summarize(times[i] ?? []);

    return {
      pathVariants: pathVariants.map(({ variant, ok, requests, latencyMs }) => ({
        variant,
        ok,
        requests,
        latencyMs,
      })),
      facilitators: { ours: oursCosts, reference: referenceCosts },
      signatureRecovery: signatureRecoveryResult,
      imageGeneration1024Ms: image,
      paymentRequired402Ms,
    };
  } finally {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
    await counter.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}
