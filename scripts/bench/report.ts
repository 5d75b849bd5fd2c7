import { formatUsdc } from '@agentic-payments/x402';
import type { AgentTurnResult } from './agent-turn.ts';
import type { BenchArgs } from './args.ts';
import type { ColdStartResult } from './cold-start.ts';
import type { ComponentResults, FacilitatorCosts } from './components.ts';
import { type GasResults, type GasSession, SESSION_IMAGES } from './gas.ts';
import type { MachineFacts } from './machine.ts';
import {
  type AddedLatency,
  type LevelResult,
  type PaidBenchmarkResult,
  SIDE_LABELS,
  type SideResult,
} from './paid-requests.ts';
import { fmt, type LatencySummary, ratio } from './stats.ts';

export interface BenchResults {
  command: string;
  machine: MachineFacts;
  options: BenchArgs;
  startedAt: string;
  durationSeconds: number;
  paid?: PaidBenchmarkResult;
  /** The same sides with the image generated per request, at one level (images per second). */
  paidGenerated?: PaidBenchmarkResult;
  gas?: GasResults;
  components?: ComponentResults;
  coldStart?: ColdStartResult[];
  agent?: AgentTurnResult;
}

const lat = (s: LatencySummary) => `${fmt(s.p50, 0)} / ${fmt(s.p95, 0)} / ${fmt(s.p99, 0)}`;
const failures = (f: Record<string, number>) => {
  const entries = Object.entries(f);
  return entries.length === 0 ? '0' : entries.map(([k, v]) => `${v}× \`${k}\``).join(', ');
};
const rpc = (r: FacilitatorCosts['rpcPerVerify']) =>
  `${fmt(r.httpRequests, 1)} (${Object.entries(r.calls)
    .map(([m, n]) => `${m} ${fmt(n, 1)}`)
    .join(', ')})`;

/** The one concurrency level of the generator run (images rendered per request). */
export const GENERATED_LEVEL = 32;

const sidesOf = (l: LevelResult): SideResult[] =>
  [l.ours, l.reference, l.oursBatch, l.referenceBatch].filter((s): s is SideResult => s !== undefined);

function onChainCell(s: SideResult): string {
  if (s.side === 'oursBatch' || s.side === 'referenceBatch')
    return `${s.transfersOnChain} (vouchers) ${s.settledOnChainMatches200s ? '✔' : '✘ mismatch'}`;
  return `${s.transfersOnChain} ${s.settledOnChainMatches200s ? '✔' : '✘ mismatch'}`;
}

function sideRows(paid: PaidBenchmarkResult): string[] {
  return paid.levels.flatMap((level) =>
    sidesOf(level).map(
      (s) =>
        `| ${level.concurrency} | ${SIDE_LABELS[s.side]} | ${s.ok}/${s.requests} | ${fmt(s.paidPerSecond, 2)} | ${lat(s.latencyMs)} | ${failures(s.failures)} | ${onChainCell(s)} |`,
    ),
  );
}

const SIDE_TABLE_HEAD = [
  '| concurrency | side | 200s / requests | paid req/s | latency ms p50 / p95 / p99 | failures | Transfers to the seller on chain |',
  '| ---: | --- | ---: | ---: | ---: | --- | ---: |',
];

function paidSection(
  paid: PaidBenchmarkResult,
  generated: PaidBenchmarkResult | undefined,
  gas: GasResults | undefined,
): string[] {
  const hasBatch = paid.levels.some((l) => l.oursBatch !== undefined);
  const ratios = paid.levels.map((l) => {
    const refBatch = ratio(l.referenceBatch?.paidPerSecond, l.reference.paidPerSecond);
    const oursVsRefBatch = ratio(l.oursBatch?.paidPerSecond, l.referenceBatch?.paidPerSecond);
    return `| ${l.concurrency} | ${fmt(l.throughputRatio, 2)} | ${fmt(l.p50Ratio, 2)} | ${fmt(l.batchThroughputRatio, 2)} | ${fmt(l.batchP50Ratio, 2)} | ${fmt(refBatch, 2)} | ${fmt(oursVsRefBatch, 2)} |`;
  });
  return [
    '## 1. Paid requests on the devnet',
    '',
    'Sides (each service in its own Node process, tsx loader):',
    '- **ours exact / ours batch-settlement** = our gateway (Hono, DynamoDB-API payment and channel store on the embedded dynalite',
    '  called in-process, local image store) + our facilitator over HTTP. One gateway process offers both schemes; the client',
    '  decides which one it pays with. Claims run only when the bench stops the gateway (no claim timer mid-segment).',
    '- **official exact** = express + `@x402/express` `paymentMiddleware` + `x402ResourceServer` → `HTTPFacilitatorClient` → an',
    '  express-served `@x402/core` `x402Facilitator` with the `@x402/evm` exact scheme and a plain viem wallet client as signer',
    '  (receipt polling set to 20 ms like ours; everything else default).',
    '- **official batch-settlement** = the same express stack with `@x402/evm/batch-settlement/server` `BatchSettlementEvmScheme`',
    '  (its default in-memory channel storage) and, in its facilitator, `@x402/evm/batch-settlement/facilitator`',
    '  `BatchSettlementEvmScheme` with the same plain viem signer (its own key as receiver authorizer).',
    ...(paid.referenceBatchUnavailable
      ? [
          '',
          `**The official batch-settlement stack was not measured in this run:** ${paid.referenceBatchUnavailable}`,
        ]
      : []),
    '',
    `Image: **${paid.image === 'prerendered' ? 'pre-rendered' : 'generated per request'}**. ${
      paid.image === 'prerendered'
        ? 'Every seller answers with the same PNG (1024x1024, rendered once at start by the local procedural generator, a stand-in, not an AI model) as base64 JSON, so the payment path is what is measured; the generator run is below.'
        : 'Every seller renders the image per request.'
    }`,
    '',
    'Clients: the official `@x402/fetch` `wrapFetchWithPayment`, one pre-funded payer per in-flight request. Exact sides: `@x402/evm`',
    '`ExactEvmScheme`; every timed request is the full unpaid POST → 402 → EIP-712 signature → paid POST → 200 with the image read to',
    'the end. Batch-settlement sides: `@x402/evm/batch-settlement/client` `BatchSettlementEvmScheme` (only that scheme registered),',
    'one channel per in-flight client, opened by its first request (the deposit, timed apart below) before the warm-up, so every',
    "timed request is a voucher (the client's flow is still unpaid POST → 402 → voucher signature → paid POST). Nothing is",
    "pre-signed, so the client's cost is inside every side's numbers.",
    `Order: ${paid.order}, after ${paid.warmUpRequests ?? 0} uncounted warm-up requests per side at concurrency 8 (JIT, connection pools).`,
    "Throughput = paid 200s / wall time of that side's segments. Latency in ms (p50 / p95 / p99) over the 200s only.",
    "On-chain column: USDC `Transfer` events to that side's seller in the block ranges of its segments. Exact: ✔ = equal to the",
    "number of 200s and every 200's `PAYMENT-RESPONSE` transaction is among them. Batch-settlement: ✔ = no transfer at all and",
    "every 200's `PAYMENT-RESPONSE` is a voucher charge of exactly the price (success, no transaction, `extra.chargedAmount`).",
    '',
    ...SIDE_TABLE_HEAD,
    ...sideRows(paid),
    '',
    '| concurrency | req/s ours exact ÷ official exact | p50 ours exact ÷ official exact | **req/s ours batch-settlement ÷ official exact** | p50 ours batch-settlement ÷ official exact | req/s official batch-settlement ÷ official exact | req/s ours batch-settlement ÷ official batch-settlement |',
    '| ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...ratios,
    '',
    ...(hasBatch ? depositLines(paid) : []),
    ...(paid.addedLatency ? addedLatencyLines(paid.addedLatency) : []),
    ...cpuLines(paid),
    ...serviceStatsLines(paid),
    ...(generated ? generatedLines(generated) : []),
    ...(gas ? gasLines(gas) : []),
  ];
}

function depositLines(paid: PaidBenchmarkResult): string[] {
  const rows = (paid.deposits ?? []).map(
    (d) =>
      `| ${SIDE_LABELS[d.side]} | ${d.ok}/${d.channels} | ${d.transactions} | ${d.depositsOnChain} | ${formatUsdc(BigInt(d.depositAtomic))} | ${d.concurrency} | ${lat(d.latencyMs)} | ${failures(d.failures)} |`,
  );
  return [
    "The deposit requests (each batch-settlement client's first request: 402 → deposit authorization → the facilitator's",
    'deposit transaction through the EIP-3009 deposit collector → 200), before the timed levels. Deposit transactions = named in',
    '`PAYMENT-RESPONSE`; on chain = USDC `Transfer` events of that amount into the channel contract. Run one at a time: the official',
    "facilitator's plain viem signer collides on nonces when its deposits overlap.",
    '',
    '| side | channels opened | deposit transactions | deposits on chain | deposit (USDC) | concurrency | latency ms p50 / p95 / p99 | failures |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |',
    ...rows,
    '',
  ];
}

function addedLatencyLines(a: AddedLatency): string[] {
  return [
    `**Added latency of the payment** (concurrency 1, ${a.requests} requests each, alternating one by one): ours batch-settlement`,
    '(a voucher on an open channel, the full official client flow) vs the same image answer without payment (a `node:http` handler',
    "that parses the body, takes the same pre-rendered image, stores it in the gateway's local image store and answers base64 JSON",
    `with a signed link). Target: ≤ 2 ms p50.`,
    '',
    '| variant | latency ms p50 / p95 / p99 |',
    '| --- | ---: |',
    `| unpaid handler | ${fmt(a.unpaidMs.p50, 1)} / ${fmt(a.unpaidMs.p95, 1)} / ${fmt(a.unpaidMs.p99, 1)} |`,
    `| ours batch-settlement (voucher) | ${fmt(a.paidMs.p50, 1)} / ${fmt(a.paidMs.p95, 1)} / ${fmt(a.paidMs.p99, 1)} |`,
    `| **added by the payment (p50 − p50)** | **${fmt(a.addedP50Ms, 1)}** |`,
    '',
    ...(Object.keys(a.failures).length > 0 ? [`Failures: ${failures(a.failures)}.`, ''] : []),
  ];
}

function generatedLines(g: PaidBenchmarkResult): string[] {
  const imagesPerSecond = g.levels
    .flatMap((l) => sidesOf(l))
    .map((s) => `${SIDE_LABELS[s.side]} ${fmt(s.paidPerSecond, 1)}`)
    .join(', ');
  return [
    `### The generator run (images per second)`,
    '',
    `The same sides with the image rendered per request by the local procedural generator (a stand-in, not an AI model) in`,
    `${g.renderThreads} worker thread(s) per seller, at concurrency ${g.levels.map((l) => l.concurrency).join(', ')} only (fresh services, fresh channels; ${g.order}).`,
    `Paid images per second: ${imagesPerSecond}.`,
    '',
    ...SIDE_TABLE_HEAD,
    ...sideRows(g),
    '',
    ...cpuLines(g),
  ];
}

function gasLines(g: GasResults): string[] {
  const ex = (e: GasResults['exact']['ours']) =>
    `${fmt(e.meanGasUsed, 0)} (mean of ${e.transactions} receipts)`;
  const session = (label: string, s: GasSession | undefined) => {
    if (s === undefined) return `| ${label} | – | – | – | – | – | – | – | – |`;
    const k = s.byKind;
    const cell = (x: { transactions: number; gasUsed: number }) => `${x.transactions} / ${x.gasUsed}`;
    const other =
      s.otherTransactions.length === 0
        ? '0'
        : `${k.other.transactions} / ${k.other.gasUsed} (${s.otherTransactions.join(', ')})`;
    return `| ${label} | ${s.channels} × ${s.imagesPerChannel} (${s.images} served) | ${cell(k.deposit)} | ${cell(k.claim)} | ${cell(k.settle)} | ${cell(k.refund)} | ${other} | ${s.totalGasUsed} | **${fmt(s.gasPerImage, 0)}** |`;
  };
  return [
    '### Gas per image, from receipts',
    '',
    `Exact, one \`transferWithAuthorization\` per image: ours ${ex(g.exact.ours)}, official exact ${ex(g.exact.reference)} gas per image`,
    '(the settlement transactions of the first level above).',
    '',
    'Batch-settlement: sessions of 25 images per channel, bought with the official client from our gateway (in the bench process, claims',
    'only when asked) and our facilitator on the same devnet: the deposit (first request), 24 vouchers, one claim + settle pass, then',
    "the client's cooperative refund of the rest. Every transaction mined during the session is counted from its receipt.",
    `Target: ≤ ${g.targetPerImage} gas per image.`,
    '',
    '| session | channels × images | deposit txs / gas | claim txs / gas | settle txs / gas | refund txs / gas | other txs / gas (to, selector) | total gas | gas per image |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    session('one channel alone (the true figure)', g.singleChannel),
    session('many channels, claimed and settled in one pass', g.batched),
    '',
    ...(g.batched?.depositPlusRefundPerChannel !== undefined
      ? [
          `Deposit + refund alone, per channel: ${fmt(g.batched.depositPlusRefundPerChannel, 0)} gas (${fmt(g.batched.depositPlusRefundPerChannel / SESSION_IMAGES, 0)} per image at ${SESSION_IMAGES} images): the part no batching of claims can share.`,
          '',
        ]
      : []),
    ...(g.error ? [`Batch-settlement gas not measured: ${g.error}`, ''] : []),
    ...(Object.keys({ ...(g.singleChannel?.failures ?? {}), ...(g.batched?.failures ?? {}) }).length > 0
      ? [
          `Failures: one channel ${failures(g.singleChannel?.failures ?? {})}; many channels ${failures(g.batched?.failures ?? {})}.`,
          '',
        ]
      : []),
  ];
}

function cpuLines(paid: PaidBenchmarkResult): string[] {
  const sides = paid.levels.flatMap((l) => sidesOf(l));
  if (sides.some((s) => s.cpuMsPerPaid === undefined)) return [];
  const rows = sides.map((s) => {
    const c = s.cpuMsPerPaid;
    if (c === undefined) return '';
    const cores = s.paidPerSecond === undefined ? undefined : (c.total * s.paidPerSecond) / 1000;
    return `| ${s.concurrency} | ${SIDE_LABELS[s.side]} | ${fmt(c.seller, 1)} | ${fmt(c.facilitator, 1)} | ${fmt(c.chain, 1)} | ${fmt(c.client, 1)} | ${fmt(c.total, 1)} | ${fmt(cores, 2)} |`;
  });
  return [
    'CPU per paid 200 in ms (user + system, all threads, from /proc; 10 ms resolution per process and segment): seller,',
    "facilitator, chain (anvil, charged to the side whose segment ran) and client (the bench process: the official client's",
    "signing, HTTP, reading the image). Cores busy = total × paid req/s: near the machine's core count, a level is CPU-bound.",
    '',
    '| concurrency | side | seller | facilitator | chain | client | total | cores busy |',
    '| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...rows,
    '',
  ];
}

function serviceStatsLines(paid: PaidBenchmarkResult): string[] {
  const okOurs = paid.levels.reduce((a, l) => a + l.ours.ok + (l.oursBatch?.ok ?? 0), 0);
  const stat = (name: string) =>
    paid.serviceStats[name] as
      | { log?: { lines: number; bytes: number }; settler?: Record<string, number> }
      | undefined;
  const facilitator = stat('oursFacilitator');
  const gateway = stat('oursGateway');
  if (okOurs === 0 || facilitator === undefined || gateway === undefined) return [];
  const per = (n: number | undefined) => fmt(n === undefined ? undefined : n / okOurs, 2);
  const s = facilitator.settler ?? {};
  return [
    `Our services over the whole run (warm-up and deposits included), per timed paid 200 of ours (exact and batch-settlement): facilitator RPC HTTP requests ${per(s.httpRequests)},`,
    `transactions sent ${per(s.transactionsSent)}, receipt polls ${per(s.receiptPolls)}, nonce resyncs ${s.nonceResyncs ?? '–'} in total; log lines`,
    `gateway ${per(gateway.log?.lines)} (${per(gateway.log?.bytes)} bytes), facilitator ${per(facilitator.log?.lines)} (${per(facilitator.log?.bytes)} bytes).`,
    '',
  ];
}

function componentSection(c: ComponentResults): string[] {
  const f = c.facilitators;
  const sig = c.signatureRecovery;
  return [
    '## 2. Component costs',
    '',
    'Measured one call at a time, with the services running inside the bench process (loopback HTTP between them).',
    'Verify / settle: through each facilitator over HTTP with the official `HTTPFacilitatorClient`',
    '(payloads signed beforehand with the official client; settle includes waiting for the receipt). RPC round trips per call: the',
    'same facilitator code pointed at a counting JSON-RPC pass-through (HTTP requests; a JSON-RPC batch counts once).',
    '',
    '| facilitator | verify ms p50 / p95 / p99 | settle ms p50 / p95 / p99 | RPC HTTP requests per verify | RPC HTTP requests per settle | failures |',
    '| --- | ---: | ---: | --- | --- | ---: |',
    `| ours | ${lat(f.ours.verifyMs)} | ${lat(f.ours.settleMs)} | ${rpc(f.ours.rpcPerVerify)} | ${rpc(f.ours.rpcPerSettle)} | ${f.ours.failures} |`,
    `| reference | ${lat(f.reference.verifyMs)} | ${lat(f.reference.settleMs)} | ${rpc(f.reference.rpcPerVerify)} | ${rpc(f.reference.rpcPerSettle)} | ${f.reference.failures} |`,
    `| ours / reference (p50) | ${fmt(ratio(f.ours.verifyMs.p50, f.reference.verifyMs.p50), 2)} | ${fmt(ratio(f.ours.settleMs.p50, f.reference.settleMs.p50), 2)} | | | |`,
    '',
    '| component | result |',
    '| --- | ---: |',
    `| EIP-712 signature recovery, viem \`recoverTypedDataAddress\` (JS, one core) | ${sig.viemRecoverTypedDataAddressPerSecond} /s |`,
    `| EIP-712 signature recovery, native libsecp256k1 (\`secp256k1\` N-API) | ${sig.nativeSecp256k1PerSecond === undefined ? 'n/a' : `${sig.nativeSecp256k1PerSecond} /s`} |`,
    `| image generation 1024x1024, local procedural generator, ms p50 / p95 | ${fmt(c.imageGeneration1024Ms.p50, 0)} / ${fmt(c.imageGeneration1024Ms.p95, 0)} |`,
    `| 402 round trip (unpaid POST /generate_image), ours, ms p50 / p95 / p99 | ${lat(c.paymentRequired402Ms.ours)} |`,
    `| 402 round trip, reference, ms p50 / p95 / p99 | ${lat(c.paymentRequired402Ms.reference)} |`,
    '',
    `Native secp256k1: ${sig.nativeNote}`,
    '',
    'Where the time of one paid request goes: the full client flow at concurrency 1 (402, sign, paid request, image read), with',
    'one part of our path swapped at a time, round-robin across variants (all in one process, so only the differences matter).',
    '',
    '| variant | 200s / requests | latency ms p50 / p95 |',
    '| --- | ---: | ---: |',
    ...c.pathVariants.map(
      (v) =>
        `| ${v.variant} | ${v.ok}/${v.requests} | ${fmt(v.latencyMs.p50, 0)} / ${fmt(v.latencyMs.p95, 0)} |`,
    ),
    '',
  ];
}

function coldStartSection(results: ColdStartResult[]): string[] {
  return [
    '## 3. Serverless cold-start proxies',
    '',
    'Each Lambda entry bundled with esbuild as `cdk/lib/node-lambda.ts` does (ESM, minified, AWS SDK bundled, createRequire banner;',
    'x64 here, ARM64 in the cloud), then imported in fresh Node processes with placeholder configuration. "init" is the `import()`',
    'of the bundle (module evaluation and wiring), "process" is spawn to exit; medians.',
    '',
    '| entry | bundle bytes | init ms (median) | process ms (median) | spawns | note |',
    '| --- | ---: | ---: | ---: | ---: | --- |',
    ...results.map(
      (r) =>
        `| \`${r.entry}\` | ${r.bundleBytes ?? '–'} | ${fmt(r.initMsMedian, 0)} | ${fmt(r.processMsMedian, 0)} | ${r.spawns} | ${r.error ? `error: ${r.error.replaceAll('|', '/')}` : ''} |`,
    ),
    '',
  ];
}

function agentSection(a: AgentTurnResult | undefined, included: boolean): string[] {
  if (!included) return [];
  if (a === undefined) return ['## 4. Agent turn', '', 'Not measured in this run.', ''];
  return [
    '## 4. Agent turn (offline planner)',
    '',
    `WebSocket prompt "${a.prompt}" → local API Gateway WebSocket host (the realtime Lambda handlers) → agent (model`,
    `\`${a.model}\`: the offline planner, a deterministic rule-based stand-in, not a language model) → estimate, x402 payment to our`,
    'gateway, settlement on the devnet → `complete` frame with the image URL. A fresh session per turn, one turn at a time.',
    '',
    '| turns | completed with image | paid | turn ms p50 / p95 | failures |',
    '| ---: | ---: | ---: | ---: | --- |',
    `| ${a.turns} | ${a.completedWithImage} | ${a.paidTurns} | ${fmt(a.turnMs.p50, 0)} / ${fmt(a.turnMs.p95, 0)} | ${failures(a.failures)} |`,
    '',
  ];
}

export function renderMarkdown(r: BenchResults, findings: string[] = []): string {
  const m = r.machine;
  return [
    '# Benchmarks',
    '',
    'Generated by `pnpm bench` (scripts/bench/main.ts); raw numbers in `bench-results.json`. Do not edit by hand.',
    '',
    `- Command: \`${r.command}\``,
    `- Date: ${r.startedAt} (run took ${r.durationSeconds} s)`,
    `- Machine: ${m.cpuModel}, ${m.cores} cores, ${m.memoryGiB} GiB, ${m.platform}, Node ${m.node}, commit ${m.gitCommit ?? 'unknown'}`,
    `- Load average at start ${m.loadAverage.join(' / ')}${m.loadAverageAtEnd ? `, at end ${m.loadAverageAtEnd.join(' / ')}` : ''} (1 / 5 / 15 min). The machine is shared with other`,
    "  engineers' builds and tests, so absolute numbers are noisy; the sides run alternately in the same invocation so the",
    '  ratios are the figures to read.',
    '- Chain: the local devnet (anvil, automine, chain id 84532, EIP-3009 USDC at the Base Sepolia address), without its periodic',
    '  state dumps during the run (they cost more with every block, on both sides alike).',
    '',
    ...(r.paid ? paidSection(r.paid, r.paidGenerated, r.gas) : r.gas ? gasLines(r.gas) : []),
    ...(r.components ? componentSection(r.components) : []),
    ...(r.coldStart ? coldStartSection(r.coldStart) : []),
    ...agentSection(r.agent, r.options.sections.includes('agent')),
    ...(findings.length > 0 ? ['## What the numbers point at', '', ...findings, ''] : []),
  ].join('\n');
}
