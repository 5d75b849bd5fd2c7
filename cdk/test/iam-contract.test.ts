import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CDK_DIR } from '../lib/paths.ts';
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
    facilitator: FIXTURE,
  },
};
const IMAGE_URI = '123456789012.dkr.ecr.us-east-1.amazonaws.com/agentic-payments/agent:v1';

const VARIANTS: Record<string, Record<string, string>> = {
  default: {},
  'facilitatorKind=cdp': { facilitatorKind: 'cdp' },
  'ownFacilitator=true': { ownFacilitator: 'true' },
};

describe.each(Object.entries(VARIANTS))('IAM contract (%s)', (name, context) => {
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
});
