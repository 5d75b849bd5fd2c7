/**
 * Serverless cold-start proxies: each Lambda entry bundled with esbuild the way cdk/lib/node-lambda.ts
 * does (ESM, minified, AWS SDK bundled, the createRequire banner; x64 here, ARM64 in the cloud), then
 * imported in fresh Node processes: module init time (import() of the bundle) and whole-process time.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { build } from 'esbuild';
import { REPO_ROOT } from './services.ts';
import { median } from './stats.ts';

const run = promisify(execFile);

export interface ColdStartResult {
  entry: string;
  bundleBytes: number | undefined;
  buildMs: number | undefined;
  initMsMedian: number | undefined;
  processMsMedian: number | undefined;
  spawns: number;
  error?: string;
}

export function lambdaEntries(): string[] {
  const handlers = join(REPO_ROOT, 'packages/realtime/src/handlers');
  return [
    'packages/gateway/src/lambda.ts',
    'packages/facilitator/src/lambda.ts',
    ...readdirSync(handlers)
      .filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts'))
      .sort()
      .map((f) => `packages/realtime/src/handlers/${f}`),
  ];
}

/** Enough configuration for every entry's module-level config parse; nothing is called at init. */
const INIT_ENV: Record<string, string> = {
  AWS_REGION: 'us-east-1',
  AWS_ACCESS_KEY_ID: 'bench',
  AWS_SECRET_ACCESS_KEY: 'bench',
  SELLER_ADDRESS: '0x90F79bf6EB2c4f870365E785982E1f101E93b906',
  IMAGE_BUCKET: 'bench-images',
  IMAGE_GENERATOR: 'local',
  FACILITATOR_URL: 'http://127.0.0.1:9',
  FACILITATOR_RPC_URL: 'http://127.0.0.1:9',
  FACILITATOR_NETWORK: 'devnet',
  // Anvil's published test key #2 (devnet only; the facilitator refuses it off a loopback RPC).
  FACILITATOR_PRIVATE_KEY: '0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a',
  CONNECTIONS_TABLE: 'bench-connections',
  IMAGES_BUCKET: 'bench-images',
  AGENT_URL: 'http://127.0.0.1:9',
  TURN_WORKER_FUNCTION: 'bench-turn-worker',
  WEBSOCKET_CALLBACK_URL: 'http://127.0.0.1:9/local',
};

const INIT_SCRIPT = `const t = performance.now(); await import(process.argv[1]); process.stdout.write(JSON.stringify({ ms: performance.now() - t }));`;

export async function runColdStarts(options: {
  quick: boolean;
  log: (line: string) => void;
}): Promise<ColdStartResult[]> {
  const spawns = options.quick ? 3 : 7;
  const outDir = mkdtempSync(join(tmpdir(), 'bench-bundles-'));
  const results: ColdStartResult[] = [];
  try {
    for (const entry of lambdaEntries()) {
      const outfile = join(outDir, `${entry.replaceAll('/', '_').replace(/\.ts$/, '')}.mjs`);
      const result: ColdStartResult = {
        entry,
        bundleBytes: undefined,
        buildMs: undefined,
        initMsMedian: undefined,
        processMsMedian: undefined,
        spawns,
      };
      try {
        const t0 = performance.now();
        await build({
          entryPoints: [join(REPO_ROOT, entry)],
          outfile,
          bundle: true,
          platform: 'node',
          format: 'esm',
          target: 'node20',
          minify: true,
          mainFields: ['module', 'main'],
          banner: {
            js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);",
          },
          logLevel: 'silent',
        });
        result.buildMs = Math.round(performance.now() - t0);
        result.bundleBytes = statSync(outfile).size;
        const init: number[] = [];
        const whole: number[] = [];
        for (let i = 0; i < spawns; i++) {
          const t1 = performance.now();
          const { stdout } = await run(
            process.execPath,
            ['--input-type=module', '-e', INIT_SCRIPT, pathToFileURL(outfile).href],
            {
              env: { PATH: process.env.PATH ?? '', ...INIT_ENV },
              timeout: 30_000,
            },
          );
          whole.push(performance.now() - t1);
          init.push((JSON.parse(stdout) as { ms: number }).ms);
        }
        result.initMsMedian = median(init);
        result.processMsMedian = median(whole);
      } catch (error) {
        const message =
          error instanceof Error ? (error as { stderr?: string }).stderr || error.message : String(error);
        result.error = message
          .split('\n')
          .filter((l) => l.trim() !== '')
          .slice(-3)
          .join(' | ')
          .slice(0, 300);
      }
      options.log(
        `  ${basename(entry)} (${entry.split('/')[1]}): ${result.bundleBytes ?? '?'} bytes, init ${result.initMsMedian?.toFixed(0) ?? '?'} ms${result.error ? ` ERROR ${result.error}` : ''}`,
      );
      results.push(result);
    }
  } finally {
    rmSync(outDir, { recursive: true, force: true });
  }
  return results;
}
