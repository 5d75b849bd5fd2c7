import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Lambda's limit on a function's unzipped deployment package (code and layers): 250 MB.
 * https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html
 */
export const LAMBDA_UNZIPPED_LIMIT_BYTES = 250 * 1024 * 1024;
/**
 * Our budget for one Lambda's bundled code (`index.mjs`, source map excluded): module loading is
 * paid on every cold start. The largest today, the gateway, is about 1.5 MB.
 */
export const LAMBDA_CODE_BUDGET_BYTES = 3 * 1024 * 1024;

export interface BundleSize {
  /** `<stack>/<logical id>` of the function. */
  readonly function: string;
  readonly codeBytes: number;
  readonly totalBytes: number;
  readonly problems: readonly string[];
}

function directoryBytes(dir: string): number {
  let total = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    total += entry.isDirectory() ? directoryBytes(path) : statSync(path).size;
  }
  return total;
}

const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(2)} MB`;

/**
 * Sizes of every Lambda bundle in a synthesized cloud assembly (`cdk synth` output), each checked
 * against Lambda's unzipped limit and our code budget.
 *
 * @example
 * const sizes = lambdaBundleSizes('cdk.out');
 * if (sizes.some((s) => s.problems.length > 0)) process.exitCode = 1;
 */
export function lambdaBundleSizes(
  assemblyDir: string,
  budgets = { code: LAMBDA_CODE_BUDGET_BYTES, total: LAMBDA_UNZIPPED_LIMIT_BYTES },
): BundleSize[] {
  const sizes: BundleSize[] = [];
  for (const file of readdirSync(assemblyDir)
    .filter((f) => f.endsWith('.template.json'))
    .sort()) {
    const stack = file.replace(/\.template\.json$/, '');
    const template = JSON.parse(readFileSync(join(assemblyDir, file), 'utf8')) as {
      Resources?: Record<string, { Type: string; Metadata?: Record<string, unknown> }>;
    };
    for (const [logicalId, resource] of Object.entries(template.Resources ?? {})) {
      if (resource.Type !== 'AWS::Lambda::Function') continue;
      const assetPath = resource.Metadata?.['aws:asset:path'];
      if (typeof assetPath !== 'string') continue; // inline code (custom resources): nothing bundled
      const dir = join(assemblyDir, assetPath);
      // Not one of our esbuild bundles: aws-cdk-lib's own handlers (the chat's BucketDeployment is Python).
      if (!existsSync(join(dir, 'index.mjs'))) continue;
      const codeBytes = statSync(join(dir, 'index.mjs')).size;
      const totalBytes = directoryBytes(dir);
      const problems: string[] = [];
      if (codeBytes > budgets.code)
        problems.push(`code ${mb(codeBytes)} exceeds the budget of ${mb(budgets.code)}`);
      if (totalBytes > budgets.total) {
        problems.push(`package ${mb(totalBytes)} exceeds Lambda's unzipped limit of ${mb(budgets.total)}`);
      }
      sizes.push({ function: `${stack}/${logicalId}`, codeBytes, totalBytes, problems });
    }
  }
  return sizes;
}

export function formatBundleSizes(sizes: readonly BundleSize[]): string {
  return sizes
    .map(
      (s) =>
        `${s.problems.length > 0 ? 'FAIL' : 'ok  '} ${s.function}: code ${mb(s.codeBytes)}, package ${mb(s.totalBytes)}${s.problems.map((p) => `\n     ${p}`).join('')}`,
    )
    .join('\n');
}
