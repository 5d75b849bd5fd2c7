import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CDK_DIR, REPO_ROOT } from '../lib/paths.ts';
import { type ContractResult, formatReports, runContract } from './iam-contract/check.ts';
import { type Synthesized, synthesize } from './support.ts';

// The IAM contract: dynalite and s3rver check no permissions, so the adapters' own tests cannot see
// a missing grant. Here each adapter's real code runs against the local engines with every AWS call
// recorded, and each call must be allowed by the synthesized policy of the role that runs it in the
// cloud; every adapter grant must be used by some call. See cdk/README.md, "IAM contract".

// Lambda code does not change IAM: bundle a tiny handler instead of the packages (fast synth), and
// reference a prebuilt agent image instead of staging the repository as a Docker build context.
const FIXTURE = join(CDK_DIR, 'test/fixtures/tiny-handler.ts');
const FAST = {
  entries: {
    gateway: FIXTURE,
    connect: FIXTURE,
    disconnect: FIXTURE,
    default: FIXTURE,
    worker: FIXTURE,
    facilitator: FIXTURE,
    claim: FIXTURE,
  },
};
const IMAGE_URI = '123456789012.dkr.ecr.us-east-1.amazonaws.com/agentic-payments/agent:v1';

const VARIANTS: Record<string, Record<string, string>> = {
  default: {},
  'facilitatorKind=cdp': { facilitatorKind: 'cdp' },
  'ownFacilitator=true': { ownFacilitator: 'true' },
};

/** lib-dynamodb's document commands send these DynamoDB operations. */
const DOCUMENT_COMMANDS: Record<string, string> = {
  Get: 'GetItem',
  Put: 'PutItem',
  Update: 'UpdateItem',
  Delete: 'DeleteItem',
  BatchWrite: 'BatchWriteItem',
  BatchGet: 'BatchGetItem',
  Query: 'Query',
  Scan: 'Scan',
  TransactWrite: 'TransactWriteItems',
  TransactGet: 'TransactGetItems',
};

/** SDK commands in source that never run in the cloud, each with the reason. */
const LOCAL_ONLY: Record<string, string> = {
  'packages/gateway/src/dynamodb-payment-store.ts CreateTable':
    'ensurePaymentTable: local engine only (CDK owns the table)',
  'packages/gateway/src/dynamodb-payment-store.ts DescribeTable': 'ensurePaymentTable: local engine only',
  'packages/realtime/src/local/local-engines.ts CreateTable':
    'the local WebSocket host creates its table in dynalite',
  'packages/realtime/src/local/local-engines.ts GetObject': 'the local S3 check recomputes presigned URLs',
  'packages/realtime/src/local/local-engines.ts Scan':
    'the local WebSocket host clears turn records a previous run left in dynalite (no TTL there)',
};

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === 'node_modules' ? [] : sourceFiles(path);
    return /\.ts$/.test(entry.name) && !/\.test\.ts$/.test(entry.name) ? [path] : [];
  });
}

for (const [name, context] of Object.entries(VARIANTS)) {
  describe(`IAM contract (${name})`, () => {
    let synth: Synthesized;
    let result: ContractResult;

    beforeAll(async () => {
      synth = synthesize({ agentImageUri: IMAGE_URI, ...context }, FAST);
      result = await runContract(synth);
      if (process.env.IAM_CONTRACT_REPORT)
        console.log(`\nIAM contract (${name})\n${formatReports(result.reports)}`);
    });
    afterAll(() => synth?.cleanup());

    it('allows every call each adapter made, on the role that runs it', () => {
      expect(result.reports.flatMap((r) => r.missing.map((m) => `${r.role}: ${m}`))).toStrictEqual([]);
    });

    it('grants no adapter permission that no recorded call needed', () => {
      expect(result.reports.flatMap((r) => r.unused.map((u) => `${r.role}: ${u}`))).toStrictEqual([]);
    });

    it('has a contract entry for every role with adapter grants, and keeps platform grants apart', () => {
      expect(result.reports.flatMap((r) => r.unclassified.map((u) => `${r.role}: ${u}`))).toStrictEqual([]);
    });

    // Once, on the default app: the drives cover every operation the code can send.
    if (name === 'default') {
      it('records, in some drive, every AWS SDK operation the packages and Lambda shims construct', () => {
        const recorded = new Set(
          Object.values(result.calls).flatMap((calls) => calls.map((c) => c.operation)),
        );
        const roots = [
          ...readdirSync(join(REPO_ROOT, 'packages')).map((p) => join(REPO_ROOT, 'packages', p, 'src')),
          join(CDK_DIR, 'lambda'),
        ];
        const constructed = roots.flatMap((root) =>
          sourceFiles(root).flatMap((file) => {
            const text = readFileSync(file, 'utf8');
            if (!text.includes('@aws-sdk/')) return [];
            return [...text.matchAll(/new ([A-Z]\w*)Command\(/g)].map((m) => {
              const name = m[1] ?? '';
              const operation =
                text.includes('@aws-sdk/lib-dynamodb') && DOCUMENT_COMMANDS[name]
                  ? DOCUMENT_COMMANDS[name]
                  : name;
              return `${relative(REPO_ROOT, file)} ${operation}`;
            });
          }),
        );
        expect(constructed.length).toBeGreaterThan(20);
        const undriven = [...new Set(constructed)].filter(
          (entry) => !(entry in LOCAL_ONLY) && !recorded.has(entry.split(' ')[1] ?? ''),
        );
        expect(undriven).toStrictEqual([]);
      });
    }
  });
}
