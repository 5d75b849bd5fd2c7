import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { lambdaBundleSizes } from '../lib/bundle-budget.ts';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A cloud assembly with one stack and one bundled Lambda of the given sizes. */
function assembly(codeBytes: number, mapBytes: number): string {
  const dir = mkdtempSync(join(tmpdir(), 'bundle-budget-'));
  dirs.push(dir);
  mkdirSync(join(dir, 'asset.abc'));
  // aws-cdk-lib's BucketDeployment handler: a Python asset, not an esbuild bundle of ours.
  mkdirSync(join(dir, 'asset.py'));
  writeFileSync(join(dir, 'asset.py/index.py'), 'def handler(event, context): pass\n');
  writeFileSync(join(dir, 'asset.abc/index.mjs'), Buffer.alloc(codeBytes));
  writeFileSync(join(dir, 'asset.abc/index.mjs.map'), Buffer.alloc(mapBytes));
  const template = {
    Resources: {
      GatewayFunction1: { Type: 'AWS::Lambda::Function', Metadata: { 'aws:asset:path': 'asset.abc' } },
      Inline: { Type: 'AWS::Lambda::Function', Properties: { Code: { ZipFile: 'x' } } },
      BucketDeployment: {
        Type: 'AWS::Lambda::Function',
        Properties: { Runtime: 'python3.13' },
        Metadata: { 'aws:asset:path': 'asset.py' },
      },
    },
  };
  writeFileSync(join(dir, 'Stack.template.json'), JSON.stringify(template));
  return dir;
}

describe('lambdaBundleSizes', () => {
  it('measures each bundled function (not library handlers without a Node bundle) and passes one within budget', () => {
    expect(lambdaBundleSizes(assembly(1000, 500), { code: 2000, total: 4000 })).toStrictEqual([
      { function: 'Stack/GatewayFunction1', codeBytes: 1000, totalBytes: 1500, problems: [] },
    ]);
  });

  it('fails code over the budget and a package over the unzipped limit', () => {
    const [size] = lambdaBundleSizes(assembly(3000, 2000), { code: 2000, total: 4000 });
    expect(size?.problems).toStrictEqual([
      'code 0.00 MB exceeds the budget of 0.00 MB',
      "package 0.00 MB exceeds Lambda's unzipped limit of 0.00 MB",
    ]);
  });
});
