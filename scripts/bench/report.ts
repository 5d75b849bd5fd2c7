import type { AgentTurnResult } from './agent-turn.ts';
import type { BenchArgs } from './args.ts';
import type { ColdStartResult } from './cold-start.ts';
import type { ComponentResults, FacilitatorCosts } from './components.ts';
import type { MachineFacts } from './machine.ts';
import type { PaidBenchmarkResult, SideResult } from './paid-requests.ts';
import { fmt, type LatencySummary, ratio } from './stats.ts';

export interface BenchResults {
  command: string;
  machine: MachineFacts;
  options: BenchArgs;
  startedAt: string;
  durationSeconds: number;
  paid?: PaidBenchmarkResult;
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

function paidSection(paid: PaidBenchmarkResult): string[] {
  const rows = paid.levels.flatMap((level) => {
    const row = (s: SideResult) =>
      `| ${level.concurrency} | ${s.side} | ${s.ok}/${s.requests} | ${fmt(s.paidPerSecond, 2)} | ${lat(s.latencyMs)} | ${failures(s.failures)} | ${s.transfersOnChain} ${s.settledOnChainMatches200s ? '✔' : '✘ mismatch'} |`;
    return [row(level.ours), row(level.reference)];
  });
  const ratios = paid.levels.map(
    (l) =>
      `| ${l.concurrency} | ${fmt(l.throughputRatio, 2)} | ${fmt(l.p50Ratio, 2)} | ${
        (l.throughputRatio ?? 0) > 1 && (l.p50Ratio ?? Number.POSITIVE_INFINITY) < 1 ? 'yes' : 'no'
      } |`,
  );
  return [
    '## 1. Paid requests on the devnet',
    '',
    'OURS = our gateway (Hono, DynamoDB-API payment store on the embedded dynalite called in-process, local image store) + our',
    'facilitator over HTTP.',
    'REFERENCE = express + `@x402/express` `paymentMiddleware` + `x402ResourceServer` → `HTTPFacilitatorClient` → an express-served',
    '`@x402/core` `x402Facilitator` with the `@x402/evm` exact scheme and a plain viem wallet client as signer (receipt polling set to',
    '20 ms like ours; everything else default). Both routes run the same local procedural image generator (not an AI model) in the',
    `same number of worker threads (${paid.renderThreads ?? 0} here) on the same prompt (1024x1024 PNG, same bytes) and answer with the image as`,
    'base64 JSON. Each service runs in its own Node process (tsx loader).',
    '',
    'Client: the official `@x402/fetch` `wrapFetchWithPayment` with `@x402/evm` `ExactEvmScheme` for both sides, one pre-funded payer per',
    'in-flight request. Nothing is pre-signed: every timed request is the full unpaid POST → 402 → EIP-712 signature → paid POST →',
    "200 with the image read to the end, so the (identical) client cost is inside both sides' numbers.",
    `Order: ${paid.order}, after ${paid.warmUpRequests ?? 0} uncounted warm-up requests per side at concurrency 8 (JIT, connection pools).`,
    "Throughput = paid 200s / wall time of that side's segments. Latency in ms (p50 / p95 / p99) over the 200s only.",
    "On-chain column: USDC `Transfer` events to that side's seller in the block ranges of its segments; ✔ = equal to the number of",
    "200s and every 200's `PAYMENT-RESPONSE` transaction is among them.",
    '',
    '| concurrency | side | 200s / requests | paid req/s | latency ms p50 / p95 / p99 | failures | Transfers on chain |',
    '| ---: | --- | ---: | ---: | ---: | --- | ---: |',
    ...rows,
    '',
    '| concurrency | throughput ours / reference | p50 ours / reference | ours beats reference (higher req/s and lower p50) |',
    '| ---: | ---: | ---: | --- |',
    ...ratios,
    '',
    ...cpuLines(paid),
    ...serviceStatsLines(paid),
  ];
}

function cpuLines(paid: PaidBenchmarkResult): string[] {
  const sides = paid.levels.flatMap((l) => [l.ours, l.reference]);
  if (sides.some((s) => s.cpuMsPerPaid === undefined)) return [];
  const rows = sides.map((s) => {
    const c = s.cpuMsPerPaid;
    if (c === undefined) return '';
    const cores = s.paidPerSecond === undefined ? undefined : (c.total * s.paidPerSecond) / 1000;
    return `| ${s.concurrency} | ${s.side} | ${fmt(c.seller, 1)} | ${fmt(c.facilitator, 1)} | ${fmt(c.chain, 1)} | ${fmt(c.client, 1)} | ${fmt(c.total, 1)} | ${fmt(cores, 2)} |`;
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
  const okOurs = paid.levels.reduce((a, l) => a + l.ours.ok, 0);
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
    `Our services over the whole run (warm-up included), per paid 200 of ours: facilitator RPC HTTP requests ${per(s.httpRequests)},`,
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
    "  engineers' builds and tests, so absolute numbers are noisy; the two sides run alternately in the same invocation so the",
    '  ratios are the figures to read.',
    '- Chain: the local devnet (anvil, automine, chain id 84532, EIP-3009 USDC at the Base Sepolia address), without its periodic',
    '  state dumps during the run (they cost more with every block, on both sides alike).',
    '',
    ...(r.paid ? paidSection(r.paid) : []),
    ...(r.components ? componentSection(r.components) : []),
    ...(r.coldStart ? coldStartSection(r.coldStart) : []),
    ...agentSection(r.agent, r.options.sections.includes('agent')),
    ...(findings.length > 0 ? ['## What the numbers point at', '', ...findings, ''] : []),
  ].join('\n');
}
