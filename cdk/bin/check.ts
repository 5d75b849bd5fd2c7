#!/usr/bin/env node
// `pnpm --filter @agentic-payments/cdk check`: everything an operator can verify offline before
// `cdk deploy`, in one command. Exits non-zero on the first failing step.
//   1. cdk synth (cdk-nag AwsSolutions runs inside synth and fails it on any unacknowledged finding),
//      default context and with -c ownFacilitator=true
//   2. Lambda bundle sizes against Lambda's limit and our budget (cdk/lib/bundle-budget.ts)
//   3. the agent bundle's own size check (hook below)
//   4. the CDK tests: assertions, cdk-nag acknowledgements, and the IAM contract (test/iam-contract.test.ts)
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatBundleSizes, lambdaBundleSizes } from '../lib/bundle-budget.ts';
import { CDK_DIR, REPO_ROOT } from '../lib/paths.ts';

/**
 * Hook for the agent bundle (issue 14, item 1): the name of packages/agent's script that builds the
 * agent bundle and checks its size. Run when packages/agent defines it; reported as NOT CHECKED
 * until then. The integrator connects it by giving the script this name (or changing this one).
 */
export const AGENT_BUNDLE_CHECK_SCRIPT = 'bundle:check';

class CheckFailed extends Error {}

function run(title: string, command: string, args: string[], cwd: string): void {
  console.log(`\n== ${title}\n$ ${command} ${args.join(' ')}`);
  const started = Date.now();
  const result = spawnSync(command, args, { cwd, stdio: 'inherit' });
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  if (result.status !== 0) throw new CheckFailed(`${title} (${seconds} s)`);
  console.log(`✓ ${title} (${seconds} s)`);
}

const outdirs: string[] = [];
try {
  const variants: [string, string[]][] = [
    ['default context', []],
    ['-c ownFacilitator=true', ['-c', 'ownFacilitator=true']],
  ];
  for (const [name, context] of variants) {
    const outdir = mkdtempSync(join(tmpdir(), 'agentic-payments-check-'));
    outdirs.push(outdir);
    run(
      `synth + cdk-nag (${name})`,
      'pnpm',
      ['exec', 'cdk', 'synth', '--quiet', '-o', outdir, ...context],
      CDK_DIR,
    );
    console.log(`\n== Lambda bundle sizes (${name})`);
    const sizes = lambdaBundleSizes(outdir);
    console.log(formatBundleSizes(sizes));
    if (sizes.length === 0 || sizes.some((s) => s.problems.length > 0))
      throw new CheckFailed('Lambda bundle sizes');
  }

  const agentScripts = (
    JSON.parse(readFileSync(join(REPO_ROOT, 'packages/agent/package.json'), 'utf8')) as {
      scripts?: Record<string, string>;
    }
  ).scripts;
  if (agentScripts?.[AGENT_BUNDLE_CHECK_SCRIPT]) {
    run(
      'agent bundle size',
      'pnpm',
      ['--filter', '@agentic-payments/agent', 'run', AGENT_BUNDLE_CHECK_SCRIPT],
      REPO_ROOT,
    );
  } else {
    console.log(
      `\n== agent bundle size: NOT CHECKED (packages/agent has no "${AGENT_BUNDLE_CHECK_SCRIPT}" script)`,
    );
  }

  run(
    'CDK tests and IAM contract',
    'pnpm',
    ['exec', 'vitest', 'run', '--project', '@agentic-payments/cdk', '--maxWorkers=1'],
    REPO_ROOT,
  );
  console.log('\n✓ all offline checks passed');
} catch (error) {
  if (!(error instanceof CheckFailed)) throw error;
  console.error(`\n✗ ${error.message} failed`);
  process.exitCode = 1;
} finally {
  for (const dir of outdirs) rmSync(dir, { recursive: true, force: true });
}
