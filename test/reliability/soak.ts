/**
 * Soak (case 6, not part of CI): the whole local stack (startStack, as `npm start`) in this process
 * under steady paid traffic for N minutes, straight to the gateway with fresh signed x402 payments
 * from funded devnet payers, plus an agent turn every few seconds. Reports RSS / heap over time,
 * throughput, latency and every error. Loopback only; bounded in time and requests.
 *
 *   pnpm exec tsx test/reliability/soak.ts --minutes 3 [--rps 4]
 *   node --expose-gc --import tsx test/reliability/soak.ts --minutes 3   (samples after a full GC:
 *   the retained heap, which is what "memory stays flat" is about)
 */
import { parseArgs } from 'node:util';
import { connectDevnet } from '@agentic-payments/devnet';
import { loadStartConfig } from '@agentic-payments/scripts/lib/config.ts';
import { REPO_ROOT } from '@agentic-payments/scripts/lib/frontend.ts';
import { startStack } from '@agentic-payments/scripts/lib/stack.ts';
import { buy, signPayment, sleep, tempDir } from './harness.ts';

const { values } = parseArgs({
  options: { minutes: { type: 'string', default: '3' }, rps: { type: 'string', default: '4' } },
});
const minutes = Number(values.minutes);
const rps = Number(values.rps);
if (!(minutes > 0 && minutes <= 60) || !(rps > 0 && rps <= 50)) {
  console.error('usage: soak.ts --minutes <1..60> [--rps <1..50>]');
  process.exit(2);
}

const data = tempDir('reliability-soak-');
const config = loadStartConfig(
  {
    DATA_DIR: data.dir,
    DEVNET_PORT: '0',
    EXPLORER_PORT: '0',
    FACILITATOR_PORT: '0',
    GATEWAY_PORT: '0',
    AGENT_PORT: '0',
    WS_PORT: '0',
    CHAT_PORT: '0',
    SESSION_BUDGET_USDC: '1000',
  },
  REPO_ROOT,
);
const progress: string[] = [];
const stack = await startStack(config, (line) => progress.push(line));
const { info } = stack;
const devnet = connectDevnet({ rpcUrl: info.rpcUrl });
const payers = await devnet.fundPayers(8, 1_000_000_000n, 10n ** 17n);
console.log(
  `[soak] stack up (gateway ${info.gatewayUrl}); ${minutes} min at ${rps} paid req/s + 1 agent turn / 5 s`,
);

const mb = (n: number) => Math.round(n / 1024 / 1024);
const samples: { t: number; rss: number; heap: number; ok: number; errors: number }[] = [];
const errors = new Map<string, number>();
const latencies: number[] = [];
let ok = 0;
let agentOk = 0;
let seq = 0;
const started = Date.now();
const endAt = started + minutes * 60_000;
const inflight = new Set<Promise<void>>();
const maxInflight = 64;

const record = (key: string) => errors.set(key, (errors.get(key) ?? 0) + 1);

async function paidRequest(i: number) {
  const payer = payers[i % payers.length];
  if (payer === undefined) return;
  const t0 = performance.now();
  try {
    const payment = await signPayment(payer, info.sellerAddress);
    const result = await buy(
      info.gatewayUrl,
      { request_id: `soak-${i}`, prompt: `soak image ${i}` },
      payment.header,
      60_000,
    );
    if (result.status === 200) {
      ok += 1;
      latencies.push(performance.now() - t0);
    } else record(`gateway ${result.status} ${String(result.body.error)}`);
  } catch (error) {
    record(`gateway exception ${error instanceof Error ? error.name : String(error)}`);
  }
}

async function agentTurn(i: number) {
  try {
    const response = await fetch(`${info.agentUrl}/invocations`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        input: { prompt: `Generate an image of soak tower ${i}` },
        session_id: `soak-${i % 5}`,
      }),
      signal: AbortSignal.timeout(60_000),
    });
    const body = (await response.json()) as { output?: { payments?: unknown[] } };
    if (response.status === 200 && (body.output?.payments?.length ?? 0) === 1) agentOk += 1;
    else record(`agent ${response.status} payments=${body.output?.payments?.length ?? 'none'}`);
  } catch (error) {
    record(`agent exception ${error instanceof Error ? error.name : String(error)}`);
  }
}

const gc = (globalThis as { gc?: () => void }).gc;
const sampler = setInterval(() => {
  gc?.();
  const m = process.memoryUsage();
  const errorCount = [...errors.values()].reduce((a, b) => a + b, 0);
  samples.push({
    t: Math.round((Date.now() - started) / 1000),
    rss: mb(m.rss),
    heap: mb(m.heapUsed),
    ok,
    errors: errorCount,
  });
  const last = samples.at(-1);
  console.log(
    `[soak] t=${last?.t}s rss=${last?.rss} MB heap=${last?.heap} MB ok=${ok} agent_ok=${agentOk} errors=${errorCount} inflight=${inflight.size}`,
  );
}, 15_000);

let nextAgent = Date.now();
while (Date.now() < endAt) {
  const tick = Date.now();
  if (inflight.size < maxInflight) {
    const p = paidRequest(seq++).finally(() => inflight.delete(p));
    inflight.add(p);
  } else record('client backpressure (64 in flight)');
  if (tick >= nextAgent) {
    nextAgent = tick + 5_000;
    const p = agentTurn(seq++).finally(() => inflight.delete(p));
    inflight.add(p);
  }
  await sleep(Math.max(0, 1000 / rps - (Date.now() - tick)));
}
await Promise.race([Promise.all(inflight), sleep(60_000)]);
clearInterval(sampler);

gc?.();
const m = process.memoryUsage();
samples.push({
  t: Math.round((Date.now() - started) / 1000),
  rss: mb(m.rss),
  heap: mb(m.heapUsed),
  ok,
  errors: [...errors.values()].reduce((a, b) => a + b, 0),
});
latencies.sort((a, b) => a - b);
const pct = (p: number) =>
  Math.round(latencies[Math.min(latencies.length - 1, Math.floor((latencies.length * p) / 100))] ?? 0);
const onChain = await devnet.publicClient.getLogs({
  address: info.usdcAddress,
  event: (await import('./harness.ts')).TRANSFER,
  args: { to: info.sellerAddress },
  fromBlock: 0n,
});
const firstHalf = samples.slice(1, Math.max(2, Math.floor(samples.length / 2)));
const secondHalf = samples.slice(Math.floor(samples.length / 2));
const avg = (xs: { rss: number }[]) => Math.round(xs.reduce((a, s) => a + s.rss, 0) / Math.max(1, xs.length));
console.log(`\n[soak] RSS over time (MB): ${samples.map((s) => `${s.t}s:${s.rss}`).join(' ')}`);
console.log(`[soak] heapUsed over time (MB): ${samples.map((s) => `${s.t}s:${s.heap}`).join(' ')}`);
console.log(`[soak] RSS avg first half ${avg(firstHalf)} MB, second half ${avg(secondHalf)} MB`);
console.log(
  `[soak] paid requests ok=${ok} (p50 ${pct(50)} ms, p95 ${pct(95)} ms, p99 ${pct(99)} ms), agent turns ok=${agentOk}`,
);
console.log(`[soak] transfers to the seller on chain: ${onChain.length} (expected ${ok + agentOk})`);
console.log(`[soak] errors: ${errors.size === 0 ? 'none' : JSON.stringify(Object.fromEntries(errors))}`);
await stack.stop();
data.remove();
process.exit(errors.size === 0 && onChain.length === ok + agentOk ? 0 : 1);
