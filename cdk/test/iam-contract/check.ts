import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type CfnElement, CfnResource, Stack } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';
import type { CfnTemplate, Json, Synthesized } from '../support.ts';
import { type AwsCall, type Requirement, requirementsOf } from './aws-calls.ts';
import { type ContractEntry, IAM_CONTRACT, LIBRARY_ROLES, PLATFORM_ACTIONS } from './contract.ts';
import type { DriveContext } from './drives.ts';
import { iamGlob, type ResolvedStatement, roleStatements, standInWorld, statementAllows } from './policy.ts';

export interface RoleReport {
  /** `<stack>/<role logical id>` */
  readonly role: string;
  readonly adapters: readonly string[];
  /** Calls the adapters made that the role's policy does not allow. */
  readonly missing: readonly string[];
  /** Adapter grants (action on resource) no recorded call needed. */
  readonly unused: readonly string[];
  /** Statements mixing platform and adapter actions, or roles with adapter grants and no entry. */
  readonly unclassified: readonly string[];
  /** What the adapters needed, `action resource` (deduplicated), for the report. */
  readonly needed: readonly string[];
}

export interface ContractResult {
  readonly reports: readonly RoleReport[];
  readonly calls: Readonly<Record<string, readonly AwsCall[]>>;
}

const cfnOf = (construct: unknown, types?: string[]): CfnElement => {
  const node = (construct as IConstruct | undefined)?.node;
  if (!node) throw new Error('iam contract: not a construct');
  if (construct instanceof CfnResource && (!types || types.includes(construct.cfnResourceType)))
    return construct;
  const found = node
    .findAll()
    .find((c): c is CfnResource => c instanceof CfnResource && (!types || types.includes(c.cfnResourceType)));
  if (!found) throw new Error(`iam contract: no CloudFormation resource under ${node.path}`);
  return found;
};
const locate = (element: CfnElement) => {
  const stack = Stack.of(element);
  return { stack: stack.stackName, logicalId: stack.resolve(element.logicalId) as string };
};

const COMPUTE = ['AWS::Lambda::Function', 'AWS::BedrockAgentCore::Runtime'];

/**
 * Runs every contract entry whose role exists in this synthesized app, then compares what was
 * called with each role's policy. Pure with respect to the app: the local engines live in a temp dir.
 */
export async function runContract(
  synth: Synthesized,
  entries: readonly ContractEntry[] = IAM_CONTRACT,
): Promise<ContractResult> {
  const { templates, built } = synth;
  const world = standInWorld(templates);
  const scratch = mkdtempSync(join(tmpdir(), 'iam-contract-'));
  const calls: Record<string, AwsCall[]> = {};
  const byRole = new Map<
    string,
    { adapters: string[]; requirements: (Requirement & { adapter: string })[] }
  >();

  try {
    for (const entry of entries) {
      const role = entry.role(built);
      if (role === undefined) continue;
      const { stack, logicalId } = locate(cfnOf(role, ['AWS::IAM::Role']));
      const recorded: AwsCall[] = [];
      calls[entry.adapter] = recorded;
      const cleanups: (() => Promise<void> | void)[] = [];
      const context: DriveContext = {
        region: built.gateway.region,
        ref: (construct) => {
          const at = locate(cfnOf(construct));
          return world.ref(at.stack, at.logicalId);
        },
        getAtt: (construct, attribute) => {
          const at = locate(cfnOf(construct));
          return world.getAtt(at.stack, at.logicalId, attribute);
        },
        environment: (construct) => {
          const at = locate(cfnOf(construct, COMPUTE));
          const properties = (templates[at.stack] as CfnTemplate).Resources[at.logicalId].Properties as Json;
          const variables = (properties.Environment?.Variables ??
            properties.EnvironmentVariables ??
            {}) as Record<string, unknown>;
          return Object.fromEntries(
            Object.entries(variables).map(([k, v]) => [k, world.resolve(at.stack, v)]),
          );
        },
        sink: (call) => recorded.push(call),
        scratch,
        defer: (cleanup) => cleanups.push(cleanup),
      };
      try {
        await entry.drive(context, built);
      } catch (error) {
        throw new Error(`iam contract: the drive of "${entry.adapter}" failed: ${String(error)}`, {
          cause: error,
        });
      } finally {
        for (const cleanup of cleanups.reverse()) await cleanup();
      }
      if (recorded.length === 0) throw new Error(`iam contract: "${entry.adapter}" made no AWS call`);
      const key = `${stack}/${logicalId}`;
      const group = byRole.get(key) ?? { adapters: [], requirements: [] };
      group.adapters.push(entry.adapter);
      group.requirements.push(
        ...recorded.flatMap(requirementsOf).map((r) => ({ ...r, adapter: entry.adapter })),
      );
      byRole.set(key, group);
    }
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }

  const libraryRoles = new Set(
    LIBRARY_ROLES.flatMap(({ role }) => {
      const found = role(built);
      if (found === undefined) return [];
      const at = locate(cfnOf(found, ['AWS::IAM::Role']));
      return [`${at.stack}/${at.logicalId}`];
    }),
  );
  const reports: RoleReport[] = [];
  for (const [stack, template] of Object.entries(templates)) {
    for (const [logicalId, resource] of Object.entries(template.Resources)) {
      if ((resource as Json).Type !== 'AWS::IAM::Role') continue;
      if (libraryRoles.has(`${stack}/${logicalId}`)) continue;
      const statements = roleStatements(templates, world, stack, logicalId);
      const group = byRole.get(`${stack}/${logicalId}`);
      const report = compare(`${stack}/${logicalId}`, statements, group);
      if (group || report.unclassified.length > 0 || report.unused.length > 0) reports.push(report);
    }
  }
  return { reports, calls };
}

function compare(
  role: string,
  statements: ResolvedStatement[],
  group: { adapters: string[]; requirements: (Requirement & { adapter: string })[] } | undefined,
): RoleReport {
  const requirements = group?.requirements ?? [];
  const unclassified: string[] = [];
  const adapterStatements = statements.filter((s) => {
    const platform = s.actions.filter((a) => a in PLATFORM_ACTIONS);
    if (platform.length > 0 && platform.length < s.actions.length) {
      unclassified.push(`${s.sid ?? s.policy}: mixes platform and adapter actions ${s.actions.join(', ')}`);
    }
    return platform.length === 0;
  });
  if (!group && adapterStatements.length > 0) {
    unclassified.push('grants adapter actions but no contract entry runs on this role');
  }
  const missing = requirements
    .filter((r) => !adapterStatements.some((s) => statementAllows(s, r)))
    .map((r) => `${r.action} on ${r.resource}: ${r.because} [${r.adapter}]`);
  const unused: string[] = [];
  for (const s of adapterStatements) {
    for (const action of s.actions) {
      for (const resource of s.resources) {
        const used = requirements.some(
          (r) =>
            iamGlob(action, r.action, true) &&
            iamGlob(resource, r.resource) &&
            statementAllows({ ...s, actions: [action], resources: [resource] }, r),
        );
        if (!used) unused.push(`${action} on ${resource} (${s.sid ?? s.policy})`);
      }
    }
  }
  return {
    role,
    adapters: group?.adapters ?? [],
    missing: [...new Set(missing)].sort(),
    unused: [...new Set(unused)].sort(),
    unclassified,
    needed: [...new Set(requirements.map((r) => `${r.action} ${r.resource}`))].sort(),
  };
}

/** A role's needs as a Markdown table row per action (for the check script and the README). */
export function formatReports(reports: readonly RoleReport[]): string {
  const lines = ['| role | adapters | actions needed |', '| --- | --- | --- |'];
  for (const report of reports) {
    const actions = [...new Set(report.needed.map((n) => n.split(' ')[0]))].sort();
    lines.push(`| ${report.role} | ${report.adapters.join('; ')} | ${actions.join(', ')} |`);
  }
  return lines.join('\n');
}
