/**
 * `pnpm bench`: benchmarks of the payment path against the official x402 stack on the local devnet.
 * Writes BENCHMARKS.md and bench-results.json at the repository root.
 *
 *   pnpm bench                      full run (concurrency 1, 8, 32, 128)
 *   pnpm bench --quick              fewer requests / samples
 *   pnpm bench --concurrency 1,8    only these levels
 *   pnpm bench --only paid,gas,components,coldstart,agent
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { startDevnet } from '@agentic-payments/devnet';
import { runAgentTurns } from './agent-turn.ts';
import { parseArgs } from './args.ts';
import { runColdStarts } from './cold-start.ts';
import { runComponents } from './components.ts';
import { findingsFrom } from './findings.ts';
import { runGas } from './gas.ts';
import { machineFacts } from './machine.ts';
import { runPaidBenchmark } from './paid-requests.ts';
import { type BenchResults, GENERATED_LEVEL, renderMarkdown } from './report.ts';
import { REPO_ROOT } from './services.ts';

const t0 = performance.now();
const log = (line: string) =>
  process.stdout.write(`[bench ${((performance.now() - t0) / 1000).toFixed(1)}s] ${line}\n`);

const args = parseArgs(process.argv.slice(2));
const results: BenchResults = {
  command: `pnpm bench${process.argv.length > 2 ? ` ${process.argv.slice(2).join(' ')}` : ''}`,
  machine: machineFacts(),
  options: args,
  startedAt: new Date().toISOString(),
  durationSeconds: 0,
};

log(
  `${results.machine.cpuModel} x${results.machine.cores}, Node ${results.machine.node}, load ${results.machine.loadAverage.join(' ')}`,
);
// No periodic state dumps during the run (the default writes the whole chain to disk every second,
// a cost that grows with every block and lands on both sides alike): the bench needs no restart.
const devnet = await startDevnet({ port: 0, quiet: true, stateIntervalSeconds: 86_400 });
log(`devnet at ${devnet.rpcUrl} (ready in ${devnet.startMs} ms)`);
try {
  if (args.sections.includes('paid')) {
    log(`paid requests: concurrency ${args.concurrency.join(', ')}${args.quick ? ' (quick)' : ''}`);
    results.paid = await runPaidBenchmark({ devnet, levels: args.concurrency, quick: args.quick, log });
    // The generator run: the same path with the image rendered per request (images per second).
    const level = GENERATED_LEVEL;
    log(`paid requests with the generator: concurrency ${level}`);
    results.paidGenerated = await runPaidBenchmark({
      devnet,
      levels: [level],
      quick: args.quick,
      log,
      image: 'generated',
      sides: ['ours', 'reference', 'oursBatch'],
    });
  }
  if (args.sections.includes('gas')) {
    log('gas per image from receipts');
    const first = results.paid?.levels[0];
    results.gas = await runGas({
      devnet,
      exactTransactions: {
        ours: first?.ours.sampleTransactions ?? [],
        reference: first?.reference.sampleTransactions ?? [],
      },
      batchedChannels: args.quick ? 4 : 32,
      log,
    });
  }
  if (args.sections.includes('components')) {
    log('component costs');
    results.components = await runComponents({ devnet, quick: args.quick, log });
  }
  if (args.sections.includes('coldstart')) {
    log('cold-start proxies (esbuild bundles, module init in fresh processes)');
    results.coldStart = await runColdStarts({ quick: args.quick, log });
  }
  if (args.sections.includes('agent')) {
    log('agent turns (offline planner) over the local WebSocket host');
    results.agent = await runAgentTurns({ devnet, quick: args.quick, log });
  }
} finally {
  await devnet.stop();
}
results.durationSeconds = Math.round((performance.now() - t0) / 1000);
results.machine.loadAverageAtEnd = machineFacts().loadAverage;
writeFileSync(join(REPO_ROOT, 'bench-results.json'), `${JSON.stringify(results, null, 2)}\n`);
writeFileSync(join(REPO_ROOT, 'BENCHMARKS.md'), renderMarkdown(results, findingsFrom(results)));
log(`wrote BENCHMARKS.md and bench-results.json in ${results.durationSeconds} s`);
