import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { type AgenticPaymentsApp, type BuildAppOptions, buildAgenticPaymentsApp } from '../lib/app.ts';
import { CDK_DIR } from '../lib/paths.ts';

/** Synthesized CloudFormation JSON, walked structurally in tests. */
// biome-ignore lint/suspicious/noExplicitAny: template JSON has no static shape.
export type Json = any;

/** A CloudFormation template as synthesized (plain JSON). */
export type CfnTemplate = {
  Resources: Record<string, Json>;
  Outputs?: Record<string, Json>;
  Parameters?: Record<string, Json>;
};

export interface Synthesized {
  readonly built: AgenticPaymentsApp;
  readonly outdir: string;
  /** Templates by stack name. */
  readonly templates: Record<string, CfnTemplate>;
  readonly cleanup: () => void;
}

/** Variables that would let synth reach an AWS account; removed so the test proves synth is offline. */
const CREDENTIAL_ENV = [
  'CDK_DEFAULT_ACCOUNT',
  'CDK_DEFAULT_REGION',
  'AWS_PROFILE',
  'AWS_ACCESS_KEY_ID',
  'AWS_SECRET_ACCESS_KEY',
  'AWS_SESSION_TOKEN',
  'AWS_REGION',
  'AWS_DEFAULT_REGION',
];

/**
 * Builds and synthesizes the app into a fresh directory with no AWS credentials or account in the
 * environment (as in CI), cdk-nag included: `app.synth()` throws if any finding is unacknowledged.
 */
export function synthesize(
  context: Record<string, unknown> = {},
  options: Omit<BuildAppOptions, 'appProps'> = {},
): Synthesized {
  for (const name of CREDENTIAL_ENV) delete process.env[name];
  process.env.AWS_EC2_METADATA_DISABLED = 'true';
  const outdir = mkdtempSync(join(tmpdir(), 'agentic-payments-cdk-'));
  // The CLI sets this; with it each Lambda names its bundle directory in its metadata.
  const built = buildAgenticPaymentsApp({
    ...options,
    appProps: { outdir, context: { 'aws:cdk:enable-asset-metadata': true, ...context } },
  });
  const assembly = built.app.synth();
  const templates: Record<string, CfnTemplate> = {};
  for (const stack of assembly.stacks) templates[stack.stackName] = stack.template as CfnTemplate;
  return { built, outdir, templates, cleanup: () => rmSync(outdir, { recursive: true, force: true }) };
}

/** Resources of one type in a template, by logical id. */
export function resourcesOfType(template: CfnTemplate, type: string): [string, Json][] {
  return Object.entries(template.Resources).filter(([, resource]) => resource.Type === type);
}

/**
 * Renders an intrinsic as readable text the way cdk-nag does: `{ Ref: X }` → `<X>`, GetAtt →
 * `<X.Attr>`, Join joined, ImportValue → `<Import:name>`. Enough to pattern-match ARNs.
 */
export function render(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value !== 'object' || value === null) return String(value);
  const object = value as Record<string, unknown>;
  if ('Ref' in object) return `<${String(object.Ref)}>`;
  if ('Fn::GetAtt' in object) return `<${(object['Fn::GetAtt'] as string[]).join('.')}>`;
  if ('Fn::ImportValue' in object) return `<Import:${render(object['Fn::ImportValue'])}>`;
  if ('Fn::Join' in object) {
    const [separator, parts] = object['Fn::Join'] as [string, unknown[]];
    return parts.map(render).join(separator);
  }
  if ('Fn::Sub' in object) return String(object['Fn::Sub']);
  return JSON.stringify(object);
}

export interface IamStatement {
  readonly stack: string;
  readonly logicalId: string;
  readonly sid: string | undefined;
  readonly effect: string;
  readonly actions: string[];
  readonly resources: string[];
  readonly condition: unknown;
  readonly raw: Json;
}

const asArray = <T>(value: T | T[] | undefined): T[] =>
  value === undefined ? [] : Array.isArray(value) ? value : [value];

/** Every identity-policy statement in every template: inline role policies and AWS::IAM::Policy. */
export function iamStatements(templates: Record<string, CfnTemplate>): IamStatement[] {
  const statements: IamStatement[] = [];
  for (const [stack, template] of Object.entries(templates)) {
    for (const [logicalId, resource] of Object.entries(template.Resources)) {
      const documents: unknown[] = [];
      if (resource.Type === 'AWS::IAM::Policy' || resource.Type === 'AWS::IAM::ManagedPolicy') {
        documents.push(resource.Properties.PolicyDocument);
      }
      if (resource.Type === 'AWS::IAM::Role') {
        for (const policy of asArray(resource.Properties.Policies))
          documents.push((policy as { PolicyDocument: unknown }).PolicyDocument);
      }
      for (const document of documents) {
        for (const raw of asArray((document as Json).Statement) as Json[]) {
          statements.push({
            stack,
            logicalId,
            sid: raw.Sid,
            effect: raw.Effect,
            actions: asArray(raw.Action ?? raw.NotAction).map(String),
            resources: asArray(raw.Resource ?? raw.NotResource).map(render),
            condition: raw.Condition,
            raw,
          });
        }
      }
    }
  }
  return statements;
}

const run = promisify(execFile);

/** The bundle of a synthesized Lambda: its asset directory in the cloud assembly. */
export function lambdaAssetDir(outdir: string, resource: Json): string {
  const assetPath = resource.Metadata?.['aws:asset:path'];
  if (typeof assetPath !== 'string') throw new Error('Lambda without an asset path');
  return join(outdir, assetPath);
}

/**
 * Loads a bundle in a plain Node process (no tsx, no vitest transform), as Lambda would, and
 * reports whether it exports a `handler` function or the error its module initialisation threw.
 */
export async function loadBundle(
  file: string,
  env: Record<string, string>,
): Promise<{ handler: string } | { error: string }> {
  const script = `
    try {
      const m = await import(${JSON.stringify(file)});
      console.log(JSON.stringify({ handler: typeof m.handler }));
    } catch (error) {
      console.log(JSON.stringify({ error: String(error && error.message || error) }));
    }`;
  const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script], {
    env: { PATH: process.env.PATH ?? '', AWS_EC2_METADATA_DISABLED: 'true', ...env },
    timeout: 60_000,
  });
  const last = stdout.trim().split('\n').at(-1) ?? '{}';
  return JSON.parse(last) as { handler: string } | { error: string };
}

export function readJson<T>(file: string): T {
  return JSON.parse(readFileSync(file, 'utf8')) as T;
}

export { existsSync };

/**
 * Runs a package's own env parser (e.g. the agent's `loadConfig`) on an environment, in a child
 * process with tsx, and returns what it parsed (bigints as strings) or the error it threw.
 */
export async function parseWithPackageConfig(
  modulePath: string,
  exportName: string,
  env: Record<string, string>,
): Promise<{ config: Json } | { error: string }> {
  const script = `
    const m = await import(${JSON.stringify(modulePath)});
    try {
      const config = m[${JSON.stringify(exportName)}](JSON.parse(process.env.ENV_UNDER_TEST));
      console.log(JSON.stringify({ config }, (_k, v) => (typeof v === 'bigint' ? v.toString() : v)));
    } catch (error) {
      console.log(JSON.stringify({ error: String(error && error.message || error) }));
    }`;
  const { stdout } = await run(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    cwd: CDK_DIR,
    env: { PATH: process.env.PATH ?? '', ENV_UNDER_TEST: JSON.stringify(env) },
    timeout: 60_000,
  });
  const last = stdout.trim().split('\n').at(-1) ?? '{}';
  return JSON.parse(last) as { config: Json } | { error: string };
}
