/**
 * Paid requests on the devnet: our gateway + our facilitator vs the reference stack built from the
 * official libraries, each service in its own process, driven by the official `@x402/fetch` client
 * (one payer per in-flight request). Levels run ABBA (ours, ref, ref, ours; the next level starts
 * with ref) so load from other processes on this shared machine hits both sides alike. Every 200 is
 * checked against USDC Transfer events to the seller in the block range of its segment.
 */
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import {
  BATCH_SETTLEMENT_ADDRESS,
  type Devnet,
  type DevnetAccount,
  deriveDevnetAccount,
} from '@agentic-payments/devnet';
import { defaultRenderThreads } from '@agentic-payments/imaging';
import { formatUsdc } from '@agentic-payments/x402';
import { decodePaymentRequiredHeader } from '@x402/core/http';
import { toClientEvmSigner } from '@x402/evm';
import { BatchSettlementEvmScheme as BatchSettlementClientScheme } from '@x402/evm/batch-settlement/client';
import { registerExactEvmScheme } from '@x402/evm/exact/client';
import { decodePaymentResponseHeader, wrapFetchWithPayment, x402Client } from '@x402/fetch';
import { type Address, parseAbiItem } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { ownCpuMs, processCpuMs } from './process-cpu.ts';
import { REFERENCE_NETWORK } from './reference-stack.ts';
import { type ChildService, spawnService } from './services.ts';
import { type LatencySummary, ratePerSecond, ratio, summarize } from './stats.ts';

/**
 * ours = our gateway + facilitator paid with `exact`; reference = the official exact stack;
 * oursBatch = our gateway + facilitator paid with `batch-settlement` (vouchers on open channels);
 * referenceBatch = the official batch-settlement stack (express resource server, in-memory channels).
 */
export type Side = 'ours' | 'reference' | 'oursBatch' | 'referenceBatch';
export const SIDE_LABELS: Record<Side, string> = {
  ours: 'ours exact',
  reference: 'official exact',
  oursBatch: 'ours batch-settlement',
  referenceBatch: 'official batch-settlement',
};
const isBatch = (side: Side) => side === 'oursBatch' || side === 'referenceBatch';
export const PROMPT = 'a red sunset over the ocean';
export const PRICE_ATOMIC = 40_000n; // 1024x1024 standard, $0.04
const TRANSFER = parseAbiItem('event Transfer(address indexed from, address indexed to, uint256 value)');

export interface SideResult {
  side: Side;
  concurrency: number;
  requests: number;
  ok: number;
  failures: Record<string, number>;
  elapsedMs: number;
  paidPerSecond: number | undefined;
  latencyMs: LatencySummary;
  /** USDC Transfer events to the seller in the segments' block ranges. */
  transfersOnChain: number;
  /**
   * exact: every 200's transaction hash is among those Transfer events, and the counts are equal.
   * batch-settlement: every 200 is a voucher charged exactly the price (`PAYMENT-RESPONSE` success,
   * no transaction, `extra.chargedAmount` = price) and nothing was transferred on chain.
   */
  settledOnChainMatches200s: boolean;
  /**
   * CPU ms per paid 200 of this side's processes (all threads): seller, facilitator, the chain
   * (anvil, shared, charged to the side whose segment ran) and the client (this process: signing,
   * HTTP, reading the image). Linux only (/proc).
   */
  cpuMsPerPaid: (CpuShare & { total: number }) | undefined;
  /** Up to 40 settlement transactions of this side's 200s (exact only), for gas from receipts. */
  sampleTransactions?: string[];
}

export interface LevelResult {
  concurrency: number;
  ours: SideResult;
  reference: SideResult;
  oursBatch?: SideResult | undefined;
  referenceBatch?: SideResult | undefined;
  /** ours exact / official exact. */
  throughputRatio: number | undefined;
  p50Ratio: number | undefined;
  /** ours batch-settlement / official exact. */
  batchThroughputRatio?: number | undefined;
  batchP50Ratio?: number | undefined;
}

/** The first request of each batch-settlement client: the deposit that opens its channel. */
export interface DepositPhase {
  side: Side;
  channels: number;
  ok: number;
  failures: Record<string, number>;
  /** Deposit transactions named in the 200s' `PAYMENT-RESPONSE`. */
  transactions: number;
  /** USDC Transfer events into the channel contract in the phase's block range. */
  depositsOnChain: number;
  concurrency: number;
  latencyMs: LatencySummary;
  depositAtomic: string;
}

export interface AddedLatency {
  /** Requests per variant, alternating one by one at concurrency 1. */
  requests: number;
  unpaidMs: LatencySummary;
  paidMs: LatencySummary;
  failures: Record<string, number>;
  /** p50 paid − p50 unpaid. */
  addedP50Ms: number | undefined;
}

export interface PaidBenchmarkResult {
  /** `prerendered`: every seller answers with one PNG rendered at start; `generated`: per request. */
  image: 'prerendered' | 'generated';
  levels: LevelResult[];
  order: string;
  /** Uncounted requests each side served before the first level. */
  warmUpRequests: number;
  /** Worker threads of the local generator in the sellers (generated mode). */
  renderThreads: number;
  serviceStats: Record<string, unknown>;
  sides?: Side[];
  deposits?: DepositPhase[];
  /** Why the official batch-settlement stack was not measured, when it was not. */
  referenceBatchUnavailable?: string | undefined;
  addedLatency?: AddedLatency | undefined;
}

/** CPU ms used during a segment by each process of one side's path. */
export interface CpuShare {
  seller: number;
  facilitator: number;
  chain: number;
  client: number;
}

interface Segment {
  ok: number;
  failures: Record<string, number>;
  latencies: number[];
  elapsedMs: number;
  transfers: number;
  matches: boolean;
  cpu: CpuShare | undefined;
  txs: string[];
}

/** The processes whose CPU a segment is charged: that side's seller and facilitator, anvil, this one. */
interface SidePids {
  seller: number | undefined;
  facilitator: number | undefined;
  chain: number | undefined;
}

function cpuNow(pids: SidePids): CpuShare | undefined {
  const seller = processCpuMs(pids.seller);
  const facilitator = processCpuMs(pids.facilitator);
  const chain = processCpuMs(pids.chain);
  if (seller === undefined || facilitator === undefined || chain === undefined) return undefined;
  return { seller, facilitator, chain, client: ownCpuMs() };
}

type PaidFetch = ReturnType<typeof wrapFetchWithPayment>;

export function payingFetch(payer: DevnetAccount): PaidFetch {
  const client = new x402Client();
  registerExactEvmScheme(client, { signer: privateKeyToAccount(payer.privateKey) });
  return wrapFetchWithPayment(fetch, client);
}

/** The `depositPolicy.depositMultiplier` that lets the official client deposit `deposit`. */
export function depositMultiplierFor(deposit: bigint): number {
  // The client caps a deposit at depositMultiplier (default 5) × the x402 client's per-payment
  // spend cap (default $1, 1,000,000 atomic): raised just enough for `deposit`, else the cap cuts
  // the deposit and a top-up deposit lands inside a timed segment.
  // The client refuses a multiplier below 3; its default, 5, is kept for small deposits.
  return Math.max(5, Number(deposit / 1_000_000n) + 1);
}

/**
 * The official batch-settlement client (only that scheme registered) through `@x402/fetch`, with
 * `deposit` as its deposit: one channel per payer, opened by its first paid request.
 */
export function batchPayingFetch(
  payer: DevnetAccount,
  publicClient: Devnet['publicClient'],
  deposit: bigint,
): { pay: PaidFetch; scheme: BatchSettlementClientScheme } {
  const signer = toClientEvmSigner(privateKeyToAccount(payer.privateKey), publicClient);
  const scheme = new BatchSettlementClientScheme(signer, {
    depositStrategy: () => deposit,
    depositPolicy: { depositMultiplier: depositMultiplierFor(deposit) },
  });
  return { pay: wrapFetchWithPayment(fetch, new x402Client().register(REFERENCE_NETWORK, scheme)), scheme };
}

/** `http_<status>:<code>` from the body's `error`, or the x402 headers' `errorReason` / `error`. */
function failureReason(res: Response, text: string): string {
  let code = '';
  try {
    const body = JSON.parse(text) as { error?: unknown };
    if (typeof body.error === 'string') code = body.error;
  } catch {
    // not JSON
  }
  try {
    const settle = res.headers.get('PAYMENT-RESPONSE');
    if (code === '' && settle !== null) code = decodePaymentResponseHeader(settle).errorReason ?? '';
    const required = res.headers.get('PAYMENT-REQUIRED');
    if (code === '' && required !== null) code = decodePaymentRequiredHeader(required).error ?? '';
  } catch {
    // undecodable header: keep the status only
  }
  return `http_${res.status}${code ? `:${code.slice(0, 80)}` : ''}`;
}

export async function paidRequest(
  pay: PaidFetch,
  url: string,
): Promise<
  | { ok: true; tx: string; chargedAmount: string | undefined; success: boolean }
  | { ok: false; reason: string }
> {
  try {
    const res = await pay(`${url}/generate_image`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        request_id: `bench-${randomUUID()}`,
        prompt: PROMPT,
        size: '1024x1024',
        quality: 'standard',
      }),
    });
    const text = await res.text();
    if (res.status !== 200) return { ok: false, reason: failureReason(res, text) };
    const header = res.headers.get('PAYMENT-RESPONSE');
    if (header === null) return { ok: false, reason: 'no_payment_response_header' };
    const settle = decodePaymentResponseHeader(header);
    const charged = settle.extra?.chargedAmount;
    return {
      ok: true,
      tx: settle.transaction,
      chargedAmount: typeof charged === 'string' ? charged : undefined,
      success: settle.success,
    };
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    return { ok: false, reason: `client_error:${message.slice(0, 60)}` };
  }
}

async function runSegment(options: {
  devnet: Devnet;
  url: string;
  seller: Address;
  pids: SidePids;
  fetches: readonly PaidFetch[];
  concurrency: number;
  requests: number;
  batch: boolean;
}): Promise<Segment> {
  const { devnet, url, concurrency, requests } = options;
  const fromBlock = (await devnet.publicClient.getBlockNumber()) + 1n;
  const cpuBefore = cpuNow(options.pids);
  const latencies: number[] = [];
  const failures: Record<string, number> = {};
  const txs = new Set<string>();
  let vouchersOk = true;
  let next = 0;
  const started = performance.now();
  const worker = async (index: number) => {
    const pay = options.fetches[index];
    if (pay === undefined) throw new Error(`no payer for worker ${index}`);
    while (next < requests) {
      next += 1;
      const t0 = performance.now();
      const outcome = await paidRequest(pay, url);
      if (outcome.ok) {
        latencies.push(performance.now() - t0);
        if (options.batch) {
          if (!outcome.success || outcome.tx !== '' || outcome.chargedAmount !== PRICE_ATOMIC.toString())
            vouchersOk = false;
        } else txs.add(outcome.tx.toLowerCase());
      } else {
        failures[outcome.reason] = (failures[outcome.reason] ?? 0) + 1;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, requests) }, (_, i) => worker(i)));
  const elapsedMs = performance.now() - started;
  const cpuAfter = cpuNow(options.pids);
  const cpu =
    cpuBefore === undefined || cpuAfter === undefined
      ? undefined
      : {
          seller: cpuAfter.seller - cpuBefore.seller,
          facilitator: cpuAfter.facilitator - cpuBefore.facilitator,
          chain: cpuAfter.chain - cpuBefore.chain,
          client: cpuAfter.client - cpuBefore.client,
        };
  const toBlock = await devnet.publicClient.getBlockNumber();
  const logs =
    toBlock >= fromBlock
      ? await devnet.publicClient.getLogs({
          address: devnet.usdcAddress,
          event: TRANSFER,
          args: { to: options.seller },
          fromBlock,
          toBlock,
        })
      : [];
  const logTxs = new Set(
    logs.filter((l) => l.args.value === PRICE_ATOMIC).map((l) => l.transactionHash.toLowerCase()),
  );
  const matches = options.batch
    ? vouchersOk && logs.length === 0
    : logs.length === latencies.length &&
      [...txs].every((tx) => logTxs.has(tx)) &&
      txs.size === latencies.length;
  return {
    ok: latencies.length,
    failures,
    latencies,
    elapsedMs,
    transfers: logs.length,
    matches,
    cpu,
    txs: [...txs],
  };
}

function combine(side: Side, concurrency: number, requests: number, segments: Segment[]): SideResult {
  const latencies = segments.flatMap((s) => s.latencies);
  const failures: Record<string, number> = {};
  for (const s of segments)
    for (const [k, v] of Object.entries(s.failures)) failures[k] = (failures[k] ?? 0) + v;
  const ok = segments.reduce((a, s) => a + s.ok, 0);
  const elapsedMs = segments.reduce((a, s) => a + s.elapsedMs, 0);
  const cpus = segments.map((s) => s.cpu);
  const cpuMsPerPaid =
    ok === 0 || cpus.some((x) => x === undefined)
      ? undefined
      : (() => {
          const total = (key: keyof CpuShare) => cpus.reduce((a, x) => a + (x?.[key] ?? 0), 0) / ok;
          const share = {
            seller: total('seller'),
            facilitator: total('facilitator'),
            chain: total('chain'),
            client: total('client'),
          };
          return { ...share, total: share.seller + share.facilitator + share.chain + share.client };
        })();
  const sample = segments.flatMap((s) => s.txs).slice(0, 40);
  return {
    side,
    concurrency,
    requests,
    ok,
    failures,
    elapsedMs: Math.round(elapsedMs),
    paidPerSecond: ratePerSecond(ok, elapsedMs),
    latencyMs: summarize(latencies),
    transfersOnChain: segments.reduce((a, s) => a + s.transfers, 0),
    settledOnChainMatches200s: segments.every((s) => s.matches),
    cpuMsPerPaid,
    ...(sample.length > 0 ? { sampleTransactions: sample } : {}),
  };
}

/** Requests per side at a concurrency level: two halves, each at least 60 (quick: 4) requests. */
export function requestsPerSide(concurrency: number, quick: boolean): number {
  const half = quick ? Math.max(4, concurrency) : Math.max(60, concurrency);
  return 2 * half;
}

/** Uncounted requests per side before the first level: JIT, connection pools, caches. */
export function warmUpRequests(quick: boolean): number {
  return quick ? 8 : 64;
}

/**
 * Segment order of a level: the sides forward then backward (ABCD DCBA, or ABBA for two), the
 * forward order rotated by one side per level, so each side meets the others' load alike.
 */
export function levelOrder(sides: readonly Side[], levelIndex: number): Side[] {
  const k = sides.length === 0 ? 0 : levelIndex % sides.length;
  const forward = [...sides.slice(k), ...sides.slice(0, k)];
  return [...forward, ...[...forward].reverse()];
}

/** One request per batch-settlement client, `concurrency` at a time: each opens its channel. */
async function openChannels(options: {
  devnet: Devnet;
  side: Side;
  url: string;
  fetches: readonly PaidFetch[];
  concurrency: number;
  deposit: bigint;
}): Promise<DepositPhase> {
  const { devnet, fetches } = options;
  const fromBlock = (await devnet.publicClient.getBlockNumber()) + 1n;
  const latencies: number[] = [];
  const failures: Record<string, number> = {};
  let transactions = 0;
  let next = 0;
  const worker = async () => {
    while (next < fetches.length) {
      const pay = fetches[next];
      next += 1;
      if (pay === undefined) return;
      const t0 = performance.now();
      const outcome = await paidRequest(pay, options.url);
      if (outcome.ok) {
        latencies.push(performance.now() - t0);
        if (outcome.tx !== '') transactions += 1;
      } else failures[outcome.reason] = (failures[outcome.reason] ?? 0) + 1;
    }
  };
  await Promise.all(Array.from({ length: Math.min(options.concurrency, fetches.length) }, worker));
  const toBlock = await devnet.publicClient.getBlockNumber();
  const logs =
    toBlock >= fromBlock
      ? await devnet.publicClient.getLogs({
          address: devnet.usdcAddress,
          event: TRANSFER,
          args: { to: BATCH_SETTLEMENT_ADDRESS },
          fromBlock,
          toBlock,
        })
      : [];
  return {
    side: options.side,
    channels: fetches.length,
    ok: latencies.length,
    failures,
    transactions,
    depositsOnChain: logs.filter((l) => l.args.value === options.deposit).length,
    concurrency: options.concurrency,
    latencyMs: summarize(latencies),
    depositAtomic: options.deposit.toString(),
  };
}

/** Unpaid and paid (ours batch-settlement, open channel) requests one by one, alternating. */
async function measureAddedLatency(options: {
  unpaidUrl: string;
  paidUrl: string;
  pay: PaidFetch;
  requests: number;
}): Promise<AddedLatency> {
  const unpaid: number[] = [];
  const paid: number[] = [];
  const failures: Record<string, number> = {};
  for (let i = 0; i < options.requests; i++) {
    let t0 = performance.now();
    const res = await fetch(`${options.unpaidUrl}/generate_image`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        request_id: `bench-${randomUUID()}`,
        prompt: PROMPT,
        size: '1024x1024',
        quality: 'standard',
      }),
    });
    await res.text();
    if (res.status === 200) unpaid.push(performance.now() - t0);
    else failures[`unpaid_http_${res.status}`] = (failures[`unpaid_http_${res.status}`] ?? 0) + 1;
    t0 = performance.now();
    const outcome = await paidRequest(options.pay, options.paidUrl);
    if (outcome.ok) paid.push(performance.now() - t0);
    else failures[outcome.reason] = (failures[outcome.reason] ?? 0) + 1;
  }
  const unpaidMs = summarize(unpaid);
  const paidMs = summarize(paid);
  return {
    requests: options.requests,
    unpaidMs,
    paidMs,
    failures,
    addedP50Ms:
      unpaidMs.p50 === undefined || paidMs.p50 === undefined ? undefined : paidMs.p50 - unpaidMs.p50,
  };
}

interface Target {
  url: string;
  seller: Address;
  pids: SidePids;
  fetches: PaidFetch[];
}

export async function runPaidBenchmark(options: {
  devnet: Devnet;
  levels: readonly number[];
  quick: boolean;
  log: (line: string) => void;
  /** Default `prerendered`. */
  image?: 'prerendered' | 'generated';
  /** Default all four. */
  sides?: readonly Side[];
}): Promise<PaidBenchmarkResult> {
  const { devnet, levels, quick, log } = options;
  const image = options.image ?? 'prerendered';
  const wanted: Side[] = [...(options.sides ?? ['ours', 'reference', 'oursBatch', 'referenceBatch'])];
  const maxConcurrency = Math.max(...levels);
  const oursSeller = devnet.accounts.seller.address;
  const referenceSeller = deriveDevnetAccount(8).address;
  const referenceSettler = deriveDevnetAccount(9);
  const referenceBatchSeller = deriveDevnetAccount(10).address;
  const referenceBatchSettler = deriveDevnetAccount(11);
  await devnet.addEth(referenceSettler.address, 1_000n * 10n ** 18n);
  await devnet.addEth(referenceBatchSettler.address, 1_000n * 10n ** 18n);
  const perSide = levels.reduce((a, c) => a + requestsPerSide(c, quick), warmUpRequests(quick));
  const exactFetches: PaidFetch[] = [];
  if (wanted.includes('ours') || wanted.includes('reference')) {
    const totalPerPayer = perSide * 2;
    log(
      `funding ${maxConcurrency} exact payers with ${formatUsdc(BigInt(totalPerPayer) * PRICE_ATOMIC)} USDC each...`,
    );
    const payers = await devnet.fundPayers(maxConcurrency, BigInt(totalPerPayer) * PRICE_ATOMIC);
    exactFetches.push(...payers.map(payingFetch));
  }
  // A channel's deposit covers everything its client can be asked to pay in the run: the deposit
  // request, the warm-up, every level (client 0 takes part in all of them) and the added-latency run.
  const addedLatencyRequests = quick ? 20 : 100;
  const deposit = BigInt(perSide + addedLatencyRequests + 1) * PRICE_ATOMIC;
  const batchFetches: Partial<Record<Side, PaidFetch[]>> = {};
  for (const side of wanted.filter(isBatch)) {
    log(`funding ${maxConcurrency} ${SIDE_LABELS[side]} payers with ${formatUsdc(deposit)} USDC each...`);
    const payers = await devnet.fundPayers(maxConcurrency, deposit);
    batchFetches[side] = payers.map((p) => batchPayingFetch(p, devnet.publicClient, deposit).pay);
  }

  const services: Record<string, ChildService> = {};
  const serviceStats: Record<string, unknown> = {};
  let referenceBatchUnavailable: string | undefined;
  try {
    log(`starting services (one process each, ${image} image)...`);
    const t0 = performance.now();
    const needOurs = wanted.some((s) => s === 'ours' || s === 'oursBatch');
    const spawnNamed = async (name: string, config: Parameters<typeof spawnService>[0]) => {
      const service = await spawnService(config);
      services[name] = service;
      return service;
    };
    const [oursFacilitator, referenceFacilitator, referenceBatchFacilitator] = await Promise.all([
      needOurs
        ? spawnNamed('oursFacilitator', {
            role: 'ours-facilitator',
            rpcUrl: devnet.rpcUrl,
            settlerKey: devnet.accounts.settler.privateKey,
          })
        : undefined,
      wanted.includes('reference')
        ? spawnNamed('referenceFacilitator', {
            role: 'reference-facilitator',
            rpcUrl: devnet.rpcUrl,
            settlerKey: referenceSettler.privateKey,
            scheme: 'exact',
          })
        : undefined,
      wanted.includes('referenceBatch')
        ? spawnNamed('referenceBatchFacilitator', {
            role: 'reference-facilitator',
            rpcUrl: devnet.rpcUrl,
            settlerKey: referenceBatchSettler.privateKey,
            scheme: 'batch-settlement',
          }).catch((error: unknown) => {
            referenceBatchUnavailable = `its facilitator did not start: ${String(error).slice(0, 300)}`;
            return undefined;
          })
        : undefined,
    ]);
    const [oursGateway, referenceSellerService, referenceBatchSellerService, unpaid] = await Promise.all([
      oursFacilitator
        ? spawnNamed('oursGateway', {
            role: 'ours-gateway',
            rpcUrl: devnet.rpcUrl,
            facilitatorUrl: oursFacilitator.url,
            sellerAddress: oursSeller,
            image,
          })
        : undefined,
      referenceFacilitator
        ? spawnNamed('referenceSeller', {
            role: 'reference-seller',
            facilitatorUrl: referenceFacilitator.url,
            sellerAddress: referenceSeller,
            image,
            scheme: 'exact',
          })
        : undefined,
      referenceBatchFacilitator
        ? spawnNamed('referenceBatchSeller', {
            role: 'reference-seller',
            facilitatorUrl: referenceBatchFacilitator.url,
            sellerAddress: referenceBatchSeller,
            image,
            scheme: 'batch-settlement',
          }).catch((error: unknown) => {
            referenceBatchUnavailable = `its resource server did not start: ${String(error).slice(0, 300)}`;
            return undefined;
          })
        : undefined,
      // The unpaid baseline of the added-latency measurement (pre-rendered mode only).
      wanted.includes('oursBatch') && image === 'prerendered'
        ? spawnNamed('unpaidSeller', { role: 'unpaid-seller', image })
        : undefined,
    ]);
    log(`services ready in ${Math.round(performance.now() - t0)} ms`);
    const targets: Partial<Record<Side, Target>> = {};
    const chain = devnet.anvilPid;
    if (oursGateway && oursFacilitator) {
      const pids = { seller: oursGateway.pid, facilitator: oursFacilitator.pid, chain };
      if (wanted.includes('ours'))
        targets.ours = { url: oursGateway.url, seller: oursSeller, pids, fetches: exactFetches };
      if (wanted.includes('oursBatch'))
        targets.oursBatch = {
          url: oursGateway.url,
          seller: oursSeller,
          pids,
          fetches: batchFetches.oursBatch ?? [],
        };
    }
    if (referenceSellerService && referenceFacilitator)
      targets.reference = {
        url: referenceSellerService.url,
        seller: referenceSeller,
        pids: { seller: referenceSellerService.pid, facilitator: referenceFacilitator.pid, chain },
        fetches: exactFetches,
      };
    if (referenceBatchSellerService && referenceBatchFacilitator)
      targets.referenceBatch = {
        url: referenceBatchSellerService.url,
        seller: referenceBatchSeller,
        pids: { seller: referenceBatchSellerService.pid, facilitator: referenceBatchFacilitator.pid, chain },
        fetches: batchFetches.referenceBatch ?? [],
      };

    // Channels first: each batch-settlement client's first request is its deposit (timed apart).
    const deposits: DepositPhase[] = [];
    for (const side of wanted.filter(isBatch)) {
      const target = targets[side];
      if (target === undefined) continue;
      const phase = await openChannels({
        devnet,
        side,
        url: target.url,
        fetches: target.fetches,
        // One at a time: the official facilitator's plain viem signer reads the pending nonce per
        // transaction, so concurrent deposits collide (as its exact settlements do in the table).
        concurrency: 1,
        deposit,
      });
      deposits.push(phase);
      log(
        `deposits ${SIDE_LABELS[side]}: ${phase.ok}/${phase.channels} ok, ${phase.transactions} deposit transactions, ` +
          `${phase.depositsOnChain} on chain, p50 ${Math.round(phase.latencyMs.p50 ?? 0)} ms ${JSON.stringify(phase.failures)}`,
      );
      if (phase.ok < phase.channels) {
        if (side === 'referenceBatch') {
          referenceBatchUnavailable = `its deposits failed (${phase.ok}/${phase.channels} channels opened): ${JSON.stringify(phase.failures).slice(0, 300)}`;
          delete targets.referenceBatch;
        } else throw new Error(`${SIDE_LABELS[side]}: deposits failed ${JSON.stringify(phase.failures)}`);
      }
    }

    // Warm-up (JIT, connection pools, facilitator /supported sync): not counted. Long enough for
    // every side's hot path to be compiled; a short one left the first levels measuring the JIT.
    const warmUp = warmUpRequests(quick);
    for (const side of wanted) {
      const target = targets[side];
      if (target === undefined) continue;
      const warm = await runSegment({
        devnet,
        ...target,
        concurrency: 8,
        requests: warmUp,
        batch: isBatch(side),
      });
      log(`warm-up ${SIDE_LABELS[side]}: ${warm.ok}/${warmUp} ok ${JSON.stringify(warm.failures)}`);
      if (side === 'referenceBatch' && warm.ok === 0) {
        referenceBatchUnavailable = `its vouchers failed in the warm-up: ${JSON.stringify(warm.failures).slice(0, 300)}`;
        delete targets.referenceBatch;
      }
    }
    const sides = wanted.filter((s) => targets[s] !== undefined);

    const results: LevelResult[] = [];
    for (const [index, concurrency] of levels.entries()) {
      const requests = requestsPerSide(concurrency, quick);
      const segments: Partial<Record<Side, Segment[]>> = {};
      for (const side of levelOrder(sides, index)) {
        const target = targets[side];
        if (target === undefined) continue;
        const segment = await runSegment({
          devnet,
          ...target,
          concurrency,
          requests: requests / 2,
          batch: isBatch(side),
        });
        const list = segments[side] ?? [];
        list.push(segment);
        segments[side] = list;
        log(
          `  c=${concurrency} ${SIDE_LABELS[side].padEnd(25)} ${segment.ok}/${requests / 2} ok in ${Math.round(segment.elapsedMs)} ms` +
            `${Object.keys(segment.failures).length ? ` failures ${JSON.stringify(segment.failures)}` : ''}` +
            ` transfers ${segment.transfers}${segment.matches ? '' : ' MISMATCH'}`,
        );
      }
      const result = (side: Side) => {
        const list = segments[side];
        return list === undefined ? undefined : combine(side, concurrency, requests, list);
      };
      const ours = result('ours');
      const reference = result('reference');
      if (ours === undefined || reference === undefined) throw new Error('both exact sides are required');
      const oursBatch = result('oursBatch');
      results.push({
        concurrency,
        ours,
        reference,
        oursBatch,
        referenceBatch: result('referenceBatch'),
        throughputRatio: ratio(ours.paidPerSecond, reference.paidPerSecond),
        p50Ratio: ratio(ours.latencyMs.p50, reference.latencyMs.p50),
        batchThroughputRatio: ratio(oursBatch?.paidPerSecond, reference.paidPerSecond),
        batchP50Ratio: ratio(oursBatch?.latencyMs.p50, reference.latencyMs.p50),
      });
    }

    let addedLatency: AddedLatency | undefined;
    const firstBatch = targets.oursBatch?.fetches[0];
    if (unpaid && targets.oursBatch && firstBatch) {
      addedLatency = await measureAddedLatency({
        unpaidUrl: unpaid.url,
        paidUrl: targets.oursBatch.url,
        pay: firstBatch,
        requests: addedLatencyRequests,
      });
      log(
        `added latency: unpaid p50 ${addedLatency.unpaidMs.p50?.toFixed(2)} ms, paid p50 ${addedLatency.paidMs.p50?.toFixed(2)} ms ${JSON.stringify(addedLatency.failures)}`,
      );
    }
    return {
      image,
      levels: results,
      order: `${sides.length > 2 ? `the ${sides.length} sides forward then backward (ABC… …CBA)` : 'ABBA'} per level, the starting side rotating between levels`,
      warmUpRequests: warmUp,
      renderThreads: image === 'generated' ? defaultRenderThreads() : 0,
      serviceStats,
      sides,
      deposits,
      referenceBatchUnavailable:
        wanted.includes('referenceBatch') && !sides.includes('referenceBatch')
          ? (referenceBatchUnavailable ?? 'not measured')
          : undefined,
      addedLatency,
    };
  } finally {
    for (const [name, service] of Object.entries(services)) {
      serviceStats[name] = await service.stop().catch((error: unknown) => String(error));
    }
  }
}
