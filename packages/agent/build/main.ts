// `pnpm --filter @agentic-payments/agent bundle`        → packages/agent/dist (server.mjs + Dockerfile)
// `pnpm --filter @agentic-payments/agent bundle:check`  → bundles into a temp dir; exit 1 above the size
//                                                         limit or with a native addon inside
// `... bundle --outdir <dir>` writes elsewhere (CDK builds the image's context this way);
// `--limit <bytes>` overrides the 20 MB limit, `--json` prints one JSON line, `--analyze` bytes per package.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { AGENT_PACKAGE_DIR, BUNDLE_SIZE_LIMIT_BYTES, bundleAgent, bundleProblems } from './bundle-agent.ts';

const { values } = parseArgs({
  options: {
    outdir: { type: 'string' },
    check: { type: 'boolean', default: false },
    json: { type: 'boolean', default: false },
    analyze: { type: 'boolean', default: false },
    limit: { type: 'string' },
  },
});

const temporary = values.check && !values.outdir;
const outdir =
  values.outdir ??
  (temporary ? await mkdtemp(join(tmpdir(), 'agent-bundle-')) : join(AGENT_PACKAGE_DIR, 'dist'));
const started = performance.now();
const result = await bundleAgent({ outdir });
const seconds = ((performance.now() - started) / 1000).toFixed(1);
const limit = values.limit === undefined ? BUNDLE_SIZE_LIMIT_BYTES : Number(values.limit);
if (!Number.isSafeInteger(limit) || limit <= 0)
  throw new Error(`--limit: a positive number of bytes, got ${values.limit}`);
const problems = bundleProblems(result, limit);
if (temporary) await rm(outdir, { recursive: true, force: true });

const mb = (bytes: number) => `${(bytes / 1e6).toFixed(2)} MB`;
if (values.json) {
  process.stdout.write(
    `${JSON.stringify({ outdir: temporary ? null : result.outdir, bytes: result.bytes, limit, files: result.files, problems })}\n`,
  );
} else {
  process.stdout.write(
    `agent bundle: ${mb(result.bytes)} (limit ${mb(limit)}), ${result.inputCount} inputs, built in ${seconds} s${temporary ? '' : ` → ${result.outdir}`}\n`,
  );
  for (const file of result.files) process.stdout.write(`  ${file.name.padEnd(12)} ${mb(file.bytes)}\n`);
  if (values.analyze) {
    for (const { name, bytes } of result.packages.slice(0, 25))
      process.stdout.write(`  ${mb(bytes).padStart(9)}  ${name}\n`);
  }
  for (const problem of problems) process.stderr.write(`FAIL ${problem}\n`);
}
if (values.check && problems.length > 0) process.exitCode = 1;
