/**
 * Paid requests on the devnet: our gateway + our facilitator vs the reference stack built from the
 * official libraries, each service in its own process, driven by the official `@x402/fetch` client
 * (one payer per in-flight request). Levels run ABBA (ours, ref, ref, ours; the next level starts
 * with ref) so load from other processes on this shared machine hits both sides alike. Every 200 is
 * checked against USDC Transfer events to the seller in the block range of its segment.
 */
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { type Devnet, type DevnetAccount, deriveDevnetAccount } from '@agentic-payments/devnet';
import { defaultRenderThreads } from '@agentic-payments/imaging';
import { formatUsdc } from '@agentic-payments/x402';
import { decodePaymentRequiredHeader } from '@x402/core/http';
import { registerExactEvmScheme } from '@x402/evm/exact/client';
import { decodePaymentResponseHeader, wrapFetchWithPayment, x402Client } from '@x402/fetch';
import { type Address, type Hex, parseAbiItem } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { ownCpuMs, processCpuMs } from './process-cpu.ts';
import { type ChildService, spawnService } from './services.ts';
import { type LatencySummary, ratePerSecond, ratio, summarize } from './stats.ts';

export type Side = 'ours' | 'reference';
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
  /** Every 200's transaction hash is among those Transfer events, and the counts are equal. */
  settledOnChainMatches200s: boolean;
  /**
   * CPU ms per paid 200 of this side's processes (all threads): seller, facilitator, the chain
   * (anvil, shared, charged to the side whose segment ran) and the client (this process: signing,
   * HTTP, reading the image). Linux only (/proc).
   */
  cpuMsPerPaid: (CpuShare & { total: number }) | undefined;
}

export interface LevelResult {
  concurrency: number;
  ours: SideResult;
  reference: SideResult;
  throughputRatio: number | undefined;
  p50Ratio: number | undefined;
}

export interface PaidBenchmarkResult {
  levels: LevelResult[];
  order: string;
  /** Uncounted requests each side served before the first level. */
  warmUpRequests: number;
  /** Worker threads of the local generator in both sellers. */
  renderThreads: number;
  serviceStats: Record<string, unknown>;
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
): Promise<{ ok: true; tx: Hex } | { ok: false; reason: string }> {
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
    return { ok: true, tx: settle.transaction as Hex };
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
}): Promise<Segment> {
  const { devnet, url, concurrency, requests } = options;
  const fromBlock = (await devnet.publicClient.getBlockNumber()) + 1n;
  const cpuBefore = cpuNow(options.pids);
  const latencies: number[] = [];
  const failures: Record<string, number> = {};
  const txs = new Set<string>();
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
        txs.add(outcome.tx.toLowerCase());
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
  const matches =
    logs.length === latencies.length &&
    [...txs].every((tx) => logTxs.has(tx)) &&
    txs.size === latencies.length;
  return { ok: latencies.length, failures, latencies, elapsedMs, transfers: logs.length, matches, cpu };
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
  };
}

/** Requests per side at a concurrency level: two ABBA halves, each at least 60 (quick: 4) requests. */
export function requestsPerSide(concurrency: number, quick: boolean): number {
  const half = quick ? Math.max(4, concurrency) : Math.max(60, concurrency);
  return 2 * half;
}

/** Uncounted requests per side before the first level: JIT, connection pools, caches. */
export function warmUpRequests(quick: boolean): number {
  return quick ? 8 : 64;
}

export async function runPaidBenchmark(options: {
  devnet: Devnet;
  levels: readonly number[];
  quick: boolean;
  log: (line: string) => void;
}): Promise<PaidBenchmarkResult> {
  const { devnet, levels, quick, log } = options;
  const maxConcurrency = Math.max(...levels);
  const oursSeller = devnet.accounts.seller.address;
  const referenceSeller = deriveDevnetAccount(8).address;
  const referenceSettler = deriveDevnetAccount(9);
  await devnet.addEth(referenceSettler.address, 1_000n * 10n ** 18n);
  const totalPerPayer = levels.reduce((a, c) => a + requestsPerSide(c, quick), warmUpRequests(quick)) * 2;
  log(
    `funding ${maxConcurrency} payers with ${formatUsdc(BigInt(totalPerPayer) * PRICE_ATOMIC)} USDC each...`,
  );
  const payers = await devnet.fundPayers(maxConcurrency, BigInt(totalPerPayer) * PRICE_ATOMIC);
  const fetches = payers.map(payingFetch);

  const services: Record<string, ChildService> = {};
  const serviceStats: Record<string, unknown> = {};
  try {
    log('starting services (one process each)...');
    const t0 = performance.now();
    const [oursFacilitator, referenceFacilitator] = await Promise.all([
      spawnService({
        role: 'ours-facilitator',
        rpcUrl: devnet.rpcUrl,
        settlerKey: devnet.accounts.settler.privateKey,
      }),
      spawnService({
        role: 'reference-facilitator',
        rpcUrl: devnet.rpcUrl,
        settlerKey: referenceSettler.privateKey,
      }),
    ]);
    services.oursFacilitator = oursFacilitator;
    services.referenceFacilitator = referenceFacilitator;
    const [oursGateway, referenceSellerService] = await Promise.all([
      spawnService({
        role: 'ours-gateway',
        rpcUrl: devnet.rpcUrl,
        facilitatorUrl: oursFacilitator.url,
        sellerAddress: oursSeller,
      }),
      spawnService({
        role: 'reference-seller',
        facilitatorUrl: referenceFacilitator.url,
        sellerAddress: referenceSeller,
      }),
    ]);
    log(`services ready in ${Math.round(performance.now() - t0)} ms`);
    services.oursGateway = oursGateway;
    services.referenceSeller = referenceSellerService;
    const target = {
      ours: {
        url: oursGateway.url,
        seller: oursSeller,
        pids: { seller: oursGateway.pid, facilitator: oursFacilitator.pid, chain: devnet.anvilPid },
      },
      reference: {
        url: referenceSellerService.url,
        seller: referenceSeller,
        pids: {
          seller: referenceSellerService.pid,
          facilitator: referenceFacilitator.pid,
          chain: devnet.anvilPid,
        },
      },
    } as const;

    // Warm-up (JIT, connection pools, facilitator /supported sync): not counted. Long enough for
    // both sides' hot paths to be compiled; a short one left the first levels measuring the JIT.
    const warmUp = warmUpRequests(quick);
    for (const side of ['ours', 'reference'] as const) {
      const warm = await runSegment({ devnet, ...target[side], fetches, concurrency: 8, requests: warmUp });
      log(`warm-up ${side}: ${warm.ok}/${warmUp} ok ${JSON.stringify(warm.failures)}`);
    }

    const results: LevelResult[] = [];
    for (const [index, concurrency] of levels.entries()) {
      const requests = requestsPerSide(concurrency, quick);
      const first: Side = index % 2 === 0 ? 'ours' : 'reference';
      const second: Side = first === 'ours' ? 'reference' : 'ours';
      const segments: Record<Side, Segment[]> = { ours: [], reference: [] };
      for (const side of [first, second, second, first]) {
        const segment = await runSegment({
          devnet,
          ...target[side],
          fetches,
          concurrency,
          requests: requests / 2,
        });
        segments[side].push(segment);
        log(
          `  c=${concurrency} ${side.padEnd(9)} ${segment.ok}/${requests / 2} ok in ${Math.round(segment.elapsedMs)} ms` +
            `${Object.keys(segment.failures).length ? ` failures ${JSON.stringify(segment.failures)}` : ''}` +
            ` transfers ${segment.transfers}${segment.matches ? '' : ' MISMATCH'}`,
        );
      }
      const ours = combine('ours', concurrency, requests, segments.ours);
      const reference = combine('reference', concurrency, requests, segments.reference);
      results.push({
        concurrency,
        ours,
        reference,
        throughputRatio: ratio(ours.paidPerSecond, reference.paidPerSecond),
        p50Ratio: ratio(ours.latencyMs.p50, reference.latencyMs.p50),
      });
    }
    return {
      levels: results,
      order: 'ABBA per level, starting side alternating between levels',
      warmUpRequests: warmUp,
      renderThreads: defaultRenderThreads(),
      serviceStats,
    };
  } finally {
    for (const [name, service] of Object.entries(services)) {
      serviceStats[name] = await service.stop().catch((error: unknown) => String(error));
    }
  }
}
