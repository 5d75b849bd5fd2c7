import { describe, expect, it } from 'vitest';
import { type AwsCall, requirementsOf } from './aws-calls.ts';
import { iamGlob, statementAllows } from './policy.ts';

const call = (overrides: Partial<AwsCall>): AwsCall => ({
  client: 'S3Client',
  operation: 'GetObject',
  input: { Bucket: 'images', Key: 'images/a' },
  region: 'us-east-1',
  hostname: '',
  path: '',
  ...overrides,
});

describe('requirementsOf', () => {
  it('asks s3:ListBucket on the bucket when a GetObject found no key (S3 answers 403 without it)', () => {
    expect(requirementsOf(call({ error: 'NoSuchKey' })).map((r) => [r.action, r.resource])).toStrictEqual([
      ['s3:GetObject', 'arn:aws:s3:::images/images/a'],
      ['s3:ListBucket', 'arn:aws:s3:::images'],
    ]);
    expect(requirementsOf(call({})).map((r) => r.action)).toStrictEqual(['s3:GetObject']);
  });

  it('authorizes BatchWriteItem on every table it writes', () => {
    const batch = call({
      client: 'DynamoDBClient',
      operation: 'BatchWriteItem',
      input: { RequestItems: { a: [], b: [] } },
    });
    expect(requirementsOf(batch).map((r) => r.resource)).toStrictEqual([
      'arn:aws:dynamodb:us-east-1:123456789012:table/a',
      'arn:aws:dynamodb:us-east-1:123456789012:table/b',
    ]);
  });

  it('authorizes a call through an inference profile on the profile and the routed models, with the profile as context', () => {
    const converse = call({
      client: 'BedrockRuntimeClient',
      operation: 'ConverseStream',
      input: { modelId: 'us.anthropic.claude-sonnet-4-5-20250929-v1:0' },
    });
    const [profile, ...routed] = requirementsOf(converse);
    expect(profile).toMatchObject({
      action: 'bedrock:InvokeModelWithResponseStream',
      resource:
        'arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-sonnet-4-5-20250929-v1:0',
    });
    expect(routed.map((r) => r.resource)).toContain(
      'arn:aws:bedrock:us-west-2::foundation-model/anthropic.claude-sonnet-4-5-20250929-v1:0',
    );
    expect(routed.every((r) => r.context?.['bedrock:InferenceProfileArn'] === profile?.resource)).toBe(true);
  });

  it('refuses a service it has no IAM mapping for', () => {
    expect(() => requirementsOf(call({ client: 'SQSClient', operation: 'SendMessage' }))).toThrow(
      'no IAM mapping for SQSClient SendMessage',
    );
  });
});

describe('statementAllows', () => {
  const statement = {
    policy: 'p',
    sid: undefined,
    actions: ['bedrock:InvokeModel'],
    resources: ['arn:aws:bedrock:*::foundation-model/m'],
    condition: { StringEquals: { 'bedrock:InferenceProfileArn': 'arn:profile' } },
  };
  const request = {
    action: 'bedrock:InvokeModel',
    resource: 'arn:aws:bedrock:us-west-1::foundation-model/m',
    because: '',
  };

  it('matches wildcards as IAM does and holds only when the condition key matches', () => {
    expect(
      statementAllows(statement, { ...request, context: { 'bedrock:InferenceProfileArn': 'arn:profile' } }),
    ).toBe(true);
    expect(
      statementAllows(statement, { ...request, context: { 'bedrock:InferenceProfileArn': 'arn:other' } }),
    ).toBe(false);
    expect(statementAllows(statement, request)).toBe(false);
    expect(iamGlob('arn:aws:s3:::b/images/*', 'arn:aws:s3:::b/sessions/x')).toBe(false);
    expect(iamGlob('DynamoDB:GetItem', 'dynamodb:getitem', true)).toBe(true);
  });
});
