import type { CfnTemplate, Json } from '../support.ts';
import { CONTRACT_ACCOUNT, type Requirement } from './aws-calls.ts';

/**
 * The synthesized app resolved into one concrete stand-in world: every `Ref`, `Fn::GetAtt`,
 * `Fn::ImportValue` and pseudo parameter becomes a plausible physical value (table and bucket names
 * derived from logical ids, ARNs in account 123456789012). The local engines are then set up with
 * the same names, so the ARNs of recorded calls and of the policy statements can be compared
 * exactly as IAM would, with no string rewriting in between.
 */
export interface StandInWorld {
  /** `Ref` of a resource (table name, bucket name, secret ARN, API id, ...). */
  ref(stack: string, logicalId: string): string;
  /** `Fn::GetAtt` of a resource. */
  getAtt(stack: string, logicalId: string, attribute: string): string;
  /** Resolves any intrinsic inside a template of `stack`. */
  resolve(stack: string, value: unknown): string;
}

const REGION = 'us-east-1';
const short = (stack: string) => stack.replace(/^[A-Za-z]+-/, '').toLowerCase();

export function standInWorld(templates: Record<string, CfnTemplate>): StandInWorld {
  const resourceOf = (stack: string, logicalId: string): Json => {
    const resource = templates[stack]?.Resources[logicalId];
    if (resource === undefined) throw new Error(`${stack} has no resource ${logicalId}`);
    return resource;
  };

  const ref = (stack: string, logicalId: string): string => {
    const parameter = templates[stack]?.Parameters?.[logicalId];
    if (parameter !== undefined) return `parameter-${logicalId}`;
    const { Type } = resourceOf(stack, logicalId);
    const name = `${short(stack)}-${logicalId}`.toLowerCase();
    switch (Type) {
      case 'AWS::DynamoDB::Table':
      case 'AWS::S3::Bucket':
        return name;
      case 'AWS::SecretsManager::Secret':
        return `arn:aws:secretsmanager:${REGION}:${CONTRACT_ACCOUNT}:secret:${name}-AbCdEf`;
      case 'AWS::ApiGatewayV2::Api':
        return `${short(stack)}api01`;
      default:
        return name;
    }
  };

  const getAtt = (stack: string, logicalId: string, attribute: string): string => {
    const { Type } = resourceOf(stack, logicalId);
    const name = ref(stack, logicalId);
    const key = `${Type}.${attribute}`;
    switch (key) {
      case 'AWS::DynamoDB::Table.Arn':
        return `arn:aws:dynamodb:${REGION}:${CONTRACT_ACCOUNT}:table/${name}`;
      case 'AWS::S3::Bucket.Arn':
        return `arn:aws:s3:::${name}`;
      case 'AWS::BedrockAgentCore::Memory.MemoryId':
        return `${logicalId}-a1b2c3d4e5`;
      case 'AWS::BedrockAgentCore::Memory.MemoryArn':
        return `arn:aws:bedrock-agentcore:${REGION}:${CONTRACT_ACCOUNT}:memory/${logicalId}-a1b2c3d4e5`;
      case 'AWS::BedrockAgentCore::Runtime.AgentRuntimeId':
        return `${logicalId}-a1b2c3d4e5`;
      case 'AWS::BedrockAgentCore::Runtime.AgentRuntimeArn':
        return `arn:aws:bedrock-agentcore:${REGION}:${CONTRACT_ACCOUNT}:runtime/${logicalId}-a1b2c3d4e5`;
      case 'AWS::Lambda::Function.Arn':
        return `arn:aws:lambda:${REGION}:${CONTRACT_ACCOUNT}:function:${name}`;
      default:
        // Log groups, roles: platform resources the contract does not compare.
        return `arn:aws:unresolved:${REGION}:${CONTRACT_ACCOUNT}:${name}/${attribute}`;
    }
  };

  const exportValue = (name: string): string => {
    for (const [stack, template] of Object.entries(templates)) {
      for (const output of Object.values(template.Outputs ?? {})) {
        if (output.Export && resolve(stack, output.Export.Name) === name) return resolve(stack, output.Value);
      }
    }
    throw new Error(`no stack exports ${name}`);
  };

  const PSEUDO: Record<string, string> = {
    'AWS::Partition': 'aws',
    'AWS::Region': REGION,
    'AWS::AccountId': CONTRACT_ACCOUNT,
    'AWS::URLSuffix': 'amazonaws.com',
  };

  const resolve = (stack: string, value: unknown): string => {
    if (typeof value === 'string') return value;
    if (typeof value !== 'object' || value === null) return String(value);
    const object = value as Record<string, Json>;
    if ('Ref' in object) {
      const target = String(object.Ref);
      return PSEUDO[target] ?? (target === 'AWS::StackName' ? stack : ref(stack, target));
    }
    if ('Fn::GetAtt' in object) {
      const [logicalId, attribute] = object['Fn::GetAtt'] as [string, string];
      return getAtt(stack, logicalId, attribute);
    }
    if ('Fn::ImportValue' in object) return exportValue(resolve(stack, object['Fn::ImportValue']));
    if ('Fn::Join' in object) {
      const [separator, parts] = object['Fn::Join'] as [string, unknown[]];
      return parts.map((part) => resolve(stack, part)).join(separator);
    }
    if ('Fn::Select' in object) {
      const [index, list] = object['Fn::Select'] as [number, unknown];
      const items = Array.isArray(list) ? list.map((item) => resolve(stack, item)) : [];
      if (!Array.isArray(list)) {
        const split = (list as Record<string, Json>)['Fn::Split'];
        if (!split) throw new Error(`Fn::Select over ${JSON.stringify(list)}`);
        items.push(...resolve(stack, split[1]).split(split[0]));
      }
      return items[Number(index)] ?? '';
    }
    if ('Fn::Sub' in object) {
      const [text, variables = {}] = (
        typeof object['Fn::Sub'] === 'string' ? [object['Fn::Sub'], {}] : object['Fn::Sub']
      ) as [string, Record<string, unknown>];
      return text.replace(/\$\{([^}]+)\}/g, (_, name: string) => {
        if (name in variables) return resolve(stack, variables[name]);
        if (PSEUDO[name]) return PSEUDO[name];
        const [logicalId, attribute] = name.split('.');
        return attribute ? getAtt(stack, logicalId ?? '', attribute) : ref(stack, logicalId ?? '');
      });
    }
    throw new Error(`iam contract: cannot resolve ${JSON.stringify(value)} in ${stack}`);
  };

  return { ref, getAtt, resolve };
}

/** An Allow statement of a role's identity policies with every intrinsic resolved. */
export interface ResolvedStatement {
  readonly policy: string;
  readonly sid: string | undefined;
  readonly actions: readonly string[];
  readonly resources: readonly string[];
  readonly condition: Record<string, Record<string, string | string[]>> | undefined;
}

const asArray = <T>(value: T | T[] | undefined): T[] =>
  value === undefined ? [] : Array.isArray(value) ? value : [value];

/**
 * Every statement attached to one role: its inline policies and each AWS::IAM::Policy naming it.
 * NotAction / NotResource / Deny are not used by this app (app.test.ts pins that) and are refused.
 */
export function roleStatements(
  templates: Record<string, CfnTemplate>,
  world: StandInWorld,
  stack: string,
  roleLogicalId: string,
): ResolvedStatement[] {
  const template = templates[stack];
  if (template?.Resources[roleLogicalId]?.Type !== 'AWS::IAM::Role') {
    throw new Error(`${stack}/${roleLogicalId} is not a role`);
  }
  const documents: [string, Json][] = [];
  for (const [logicalId, resource] of Object.entries(template.Resources)) {
    if (resource.Type === 'AWS::IAM::Policy') {
      const roles = asArray(resource.Properties.Roles as Json[]).map((role) => role?.Ref);
      if (roles.includes(roleLogicalId)) documents.push([logicalId, resource.Properties.PolicyDocument]);
    }
    if (logicalId === roleLogicalId) {
      for (const policy of asArray(resource.Properties.Policies as Json[])) {
        documents.push([`${logicalId}/${policy.PolicyName}`, policy.PolicyDocument]);
      }
    }
  }
  return documents.flatMap(([policy, document]) =>
    asArray(document.Statement as Json[]).map((raw): ResolvedStatement => {
      if (raw.Effect !== 'Allow' || raw.NotAction || raw.NotResource) {
        throw new Error(`${stack}/${policy}: only Allow statements on Action and Resource are supported`);
      }
      const condition = raw.Condition as Record<string, Record<string, unknown>> | undefined;
      return {
        policy,
        sid: raw.Sid,
        actions: asArray(raw.Action as string[]),
        resources: asArray(raw.Resource as unknown[]).map((r) => world.resolve(stack, r)),
        condition:
          condition &&
          Object.fromEntries(
            Object.entries(condition).map(([operator, keys]) => [
              operator,
              Object.fromEntries(
                Object.entries(keys).map(([key, v]) => [
                  key,
                  Array.isArray(v) ? v.map((x) => world.resolve(stack, x)) : world.resolve(stack, v),
                ]),
              ),
            ]),
          ),
      };
    }),
  );
}

/** IAM's wildcard matching: `*` any run of characters (colons and slashes included), `?` one. */
export function iamGlob(pattern: string, value: string, caseInsensitive = false): boolean {
  const source = pattern
    .split('')
    .map((c) => (c === '*' ? '.*' : c === '?' ? '.' : c.replace(/[.+^${}()|[\]\\]/g, '\\$&')))
    .join('');
  return new RegExp(`^${source}$`, caseInsensitive ? 'is' : 's').test(value);
}

function conditionHolds(
  condition: ResolvedStatement['condition'],
  context: Readonly<Record<string, string>>,
): boolean {
  if (condition === undefined) return true;
  return Object.entries(condition).every(([operator, keys]) =>
    Object.entries(keys).every(([key, expected]) => {
      const actual = context[key];
      if (actual === undefined) return false;
      const values = Array.isArray(expected) ? expected : [expected];
      switch (operator) {
        case 'StringEquals':
        case 'ArnEquals':
          return values.includes(actual);
        case 'StringLike':
        case 'ArnLike':
          return values.some((v) => iamGlob(v, actual));
        default:
          throw new Error(`iam contract: condition operator ${operator} is not supported; add it`);
      }
    }),
  );
}

/** Whether one statement allows a request (action, resource, condition keys). */
export function statementAllows(statement: ResolvedStatement, request: Requirement): boolean {
  return (
    statement.actions.some((action) => iamGlob(action, request.action, true)) &&
    statement.resources.some((resource) => iamGlob(resource, request.resource)) &&
    conditionHolds(statement.condition, request.context ?? {})
  );
}
