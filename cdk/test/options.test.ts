import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Stack, Validations } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { AwsSolutionsChecks } from 'cdk-nag';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { AgentStack } from '../lib/agent-stack.ts';
import { GATEWAY_CDP_SHIM_ENTRY } from '../lib/app.ts';
import { parseAppConfig } from '../lib/config.ts';
import { CDK_DIR } from '../lib/paths.ts';
import { PaymentsGatewayStack } from '../lib/payments-gateway-stack.ts';
import {
  type CfnTemplate,
  iamStatements,
  lambdaAssetDir,
  loadBundle,
  parseWithPackageConfig,
  render,
  resourcesOfType,
  type Synthesized,
  synthesize,
} from './support.ts';

const FIXTURE = join(CDK_DIR, 'test/fixtures/tiny-handler.ts');
const IMAGE_URI = '123456789012.dkr.ecr.us-east-1.amazonaws.com/agentic-payments/agent:v7';

describe('parseAppConfig', () => {
  it('needs no context at all (synth works with none)', () => {
    expect(parseAppConfig({})).toStrictEqual({
      stackPrefix: 'AgenticPayments',
      network: 'base-sepolia',
      facilitatorUrl: 'https://x402.org/facilitator',
      facilitatorKind: 'x402.org',
      ownFacilitator: false,
      claimIntervalMinutes: 5,
      channelRefundIdleHours: 24,
      sellerAddressParameter: '/agentic-payments/seller-address',
      agentModelId: 'us.anthropic.claude-sonnet-4-5-20250929-v1:0',
      paymentScheme: 'exact',
      consentMode: 'auto',
      maxPaymentUsdc: '0.10',
      sessionBudgetUsdc: '1.00',
      imageExpiryDays: 7,
      logRetentionDays: 30,
      apiGatewayAccountRole: true,
      webSocketRateLimit: 10,
      webSocketBurstLimit: 20,
    });
  });

  it('accepts -c strings for flags and numbers', () => {
    const config = parseAppConfig({
      ownFacilitator: 'true',
      apiGatewayAccountRole: 'false',
      imageExpiryDays: '3',
    });
    expect([config.ownFacilitator, config.apiGatewayAccountRole, config.imageExpiryDays]).toStrictEqual([
      true,
      false,
      3,
    ]);
  });

  it('names every wrong key in one error', () => {
    expect(() =>
      parseAppConfig({
        network: 'devnet',
        sellerAddress: '0x1234',
        maxPaymentUsdc: '0.1234567',
        logRetentionDays: 'forever',
      }),
    ).toThrow(
      /Invalid CDK context[\s\S]*network:[\s\S]*sellerAddress: a 0x-prefixed 20-byte hex address[\s\S]*maxPaymentUsdc: a decimal USDC amount[\s\S]*logRetentionDays:/,
    );
  });

  it('rejects a retention CloudWatch does not offer and an image URI that is not ECR', () => {
    expect(() => parseAppConfig({ logRetentionDays: 31 })).toThrow(/logRetentionDays/);
    expect(() => parseAppConfig({ agentImageUri: 'docker.io/library/node:22' })).toThrow(/agentImageUri/);
  });

  it("keeps the claim job inside the channels' 15-minute withdraw delay", () => {
    expect(parseAppConfig({ claimIntervalMinutes: '10' }).claimIntervalMinutes).toBe(10);
    expect(() => parseAppConfig({ claimIntervalMinutes: '15' })).toThrow(/- claimIntervalMinutes: /);
    expect(() => parseAppConfig({ channelRefundIdleHours: '0' })).toThrow(/- channelRefundIdleHours: /);
  });

  it('offers payment sessions (batch-settlement) only with our own facilitator', () => {
    expect(parseAppConfig({}).paymentScheme).toBe('exact');
    expect(() => parseAppConfig({ paymentScheme: 'batch-settlement' })).toThrow(
      /- paymentScheme: batch-settlement needs -c ownFacilitator=true/,
    );
    expect(parseAppConfig({ paymentScheme: 'batch-settlement', ownFacilitator: 'true' }).paymentScheme).toBe(
      'batch-settlement',
    );
    expect(() => parseAppConfig({ paymentScheme: 'upto' })).toThrow(/- paymentScheme: /);
  });

  it('rejects keys it does not know when given them directly', () => {
    expect(() => parseAppConfig({ sellerAdress: '0x' })).toThrow(/sellerAdress/);
  });
});

describe('cdk-nag is really checking', () => {
  it('fails synth on an unacknowledged AwsSolutions finding', () => {
    const outdir = mkdtempSync(join(tmpdir(), 'agentic-payments-cdk-'));
    onTestFinished(() => rmSync(outdir, { recursive: true, force: true }));
    const app = new App({ outdir });
    const stack = new Stack(app, 'NagControl');
    new s3.Bucket(stack, 'PlainBucket');
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
    expect(() => app.synth()).toThrow(/AwsSolutions-S10/);
  });
});

describe('with -c ownFacilitator=true and -c agentImageUri=<ECR image>', () => {
  let synth: Synthesized;
  let templates: Record<string, CfnTemplate>;

  beforeAll(() => {
    synth = synthesize(
      {
        ownFacilitator: 'true',
        agentImageUri: IMAGE_URI,
        sellerAddress: '0x90F79bf6EB2c4f870365E785982E1f101E93b906',
        paymentScheme: 'batch-settlement',
      },
      {
        entries: {
          gateway: FIXTURE,
          connect: FIXTURE,
          disconnect: FIXTURE,
          default: FIXTURE,
          worker: FIXTURE,
        },
      },
    );
    templates = synth.templates;
  });
  afterAll(() => synth?.cleanup());

  it('adds the facilitator stack and points the gateway at it', () => {
    expect(Object.keys(templates)).toContain('AgenticPayments-Facilitator');
    const gateway = Template.fromJSON(templates['AgenticPayments-PaymentsGateway'] as object);
    gateway.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({
          FACILITATOR_KIND: 'ours',
          FACILITATOR_URL: Match.anyValue(),
          SELLER_ADDRESS: '0x90F79bf6EB2c4f870365E785982E1f101E93b906',
        }),
      },
    });
    const [, fn] =
      resourcesOfType(
        templates['AgenticPayments-PaymentsGateway'] as CfnTemplate,
        'AWS::Lambda::Function',
      )[0] ?? [];
    expect(render(fn.Properties.Environment.Variables.FACILITATOR_URL)).toMatch(
      /^https:\/\/<Import:AgenticPayments-Facilitator:ExportsOutputRefApi[0-9A-F]{16}>\.execute-api\.us-east-1\.<AWS::URLSuffix>$/,
    );
    // A seller address in context replaces the deploy-time SSM lookup.
    const parameters = Object.values(templates['AgenticPayments-PaymentsGateway']?.Parameters ?? {});
    expect(parameters.map((p) => p.Default)).toStrictEqual(['/cdk-bootstrap/hnb659fds/version']);
  });

  it('runs the facilitator with one container (one nonce sequence) and the settler key by secret ARN only', () => {
    const t = Template.fromJSON(templates['AgenticPayments-Facilitator'] as object);
    t.hasResourceProperties('AWS::Lambda::Function', {
      ReservedConcurrentExecutions: 1,
      Runtime: 'nodejs22.x',
      Architectures: ['arm64'],
      Environment: {
        Variables: {
          NODE_OPTIONS: '--enable-source-maps',
          FACILITATOR_NETWORK: 'base-sepolia',
          FACILITATOR_RPC_URL: 'https://sepolia.base.org',
          FACILITATOR_PRIVATE_KEY_SECRET_ARN: { Ref: Match.stringLikeRegexp('^SettlerKey') },
          FACILITATOR_BATCH_SETTLEMENT: 'on',
          FACILITATOR_RECEIVER_AUTHORIZER_KEY_SECRET_ARN: {
            Ref: Match.stringLikeRegexp('^ReceiverAuthorizerKey'),
          },
          FACILITATOR_AUTHORIZER_TOKENS_SECRET_ARN: { Ref: Match.stringLikeRegexp('^AuthorizerToken') },
          FACILITATOR_RECEIPT_TIMEOUT_MS: '20000',
        },
      },
    });
    const routes = resourcesOfType(
      templates['AgenticPayments-Facilitator'] as CfnTemplate,
      'AWS::ApiGatewayV2::Route',
    ).map(([, r]) => r.Properties.RouteKey);
    expect(routes.sort()).toStrictEqual(['GET /health', 'GET /supported', 'POST /settle', 'POST /verify']);
    const reads = iamStatements(templates).filter((s) => s.actions.includes('secretsmanager:GetSecretValue'));
    expect(
      reads.map((s) => `${s.stack} ${s.logicalId.replace(/[0-9A-F]{8}$/, '')} ${s.resources}`).sort(),
    ).toStrictEqual([
      expect.stringMatching(
        /^AgenticPayments-Agent RuntimeExecutionRoleDefaultPolicy <CdpCredentials[0-9A-F]{8}>$/,
      ),
      expect.stringMatching(
        /^AgenticPayments-Facilitator FacilitatorRoleDefaultPolicy <SettlerKey[0-9A-F]{8}>,<ReceiverAuthorizerKey[0-9A-F]{8}>,<AuthorizerToken[0-9A-F]{8}>$/,
      ),
      // The gateway and its claim job read the facilitator's token, nothing else.
      expect.stringMatching(
        /^AgenticPayments-PaymentsGateway ClaimJobRoleDefaultPolicy <Import:AgenticPayments-Facilitator:ExportsOutputRefAuthorizerToken[0-9A-F]{16}>$/,
      ),
      expect.stringMatching(
        /^AgenticPayments-PaymentsGateway GatewayRoleDefaultPolicy <Import:AgenticPayments-Facilitator:ExportsOutputRefAuthorizerToken[0-9A-F]{16}>$/,
      ),
    ]);
  });

  it('gives the facilitator an environment its own config parser accepts once the loader added the key', async () => {
    const [, fn] =
      resourcesOfType(templates['AgenticPayments-Facilitator'] as CfnTemplate, 'AWS::Lambda::Function')[0] ??
      [];
    const { FACILITATOR_PRIVATE_KEY_SECRET_ARN: _arn, ...plain } = fn.Properties.Environment.Variables;
    // What loadSecretIntoEnv puts into the process: a (throwaway, never funded) settler key.
    const env = { ...plain, FACILITATOR_PRIVATE_KEY: `0x${'7'.repeat(64)}` };
    const parsed = await parseWithPackageConfig(
      join(CDK_DIR, '../packages/facilitator/src/config.ts'),
      'loadFacilitatorConfig',
      env,
    );
    expect(parsed).toMatchObject({
      config: {
        network: 'base-sepolia',
        rpcUrl: 'https://sepolia.base.org',
        receiptTimeoutMs: 20000,
        privateKeys: [env.FACILITATOR_PRIVATE_KEY],
      },
    });
  });

  it('bundles the facilitator behind the secret loader, which runs before the facilitator reads env', async () => {
    const [, fn] =
      resourcesOfType(templates['AgenticPayments-Facilitator'] as CfnTemplate, 'AWS::Lambda::Function')[0] ??
      [];
    const file = join(lambdaAssetDir(synth.outdir, fn), 'index.mjs');
    // No ARN: the loader refuses before any AWS call and before the facilitator's own config parse.
    expect(await loadBundle(file, { FACILITATOR_NETWORK: 'base-sepolia' })).toStrictEqual({
      error: 'FACILITATOR_PRIVATE_KEY_SECRET_ARN is not set: cannot load FACILITATOR_PRIVATE_KEY',
    });
  });

  it('generates the authorizer token and a key placeholder that keeps the authorizer off, no value in any template', () => {
    const t = Template.fromJSON(templates['AgenticPayments-Facilitator'] as object);
    t.hasResourceProperties('AWS::SecretsManager::Secret', {
      GenerateSecretString: {
        SecretStringTemplate: '{"FACILITATOR_RECEIVER_AUTHORIZER_KEY":"none"}',
        GenerateStringKey: 'placeholder',
      },
    });
    t.hasResourceProperties('AWS::SecretsManager::Secret', {
      GenerateSecretString: { PasswordLength: 48, ExcludePunctuation: true, IncludeSpace: false },
    });
    for (const template of Object.values(templates)) {
      for (const [, secret] of resourcesOfType(template, 'AWS::SecretsManager::Secret'))
        expect(secret.Properties.SecretString).toBeUndefined();
    }
    const outputs = Object.keys(templates['AgenticPayments-Facilitator']?.Outputs ?? {});
    expect(outputs).toEqual(
      expect.arrayContaining(['ReceiverAuthorizerKeySecretArn', 'AuthorizerTokenSecretArn']),
    );
  });

  it('turns batch-settlement on in the gateway, with the facilitator token by secret ARN only', () => {
    const [, fn] =
      resourcesOfType(
        templates['AgenticPayments-PaymentsGateway'] as CfnTemplate,
        'AWS::Lambda::Function',
      )[0] ?? [];
    const variables = fn.Properties.Environment.Variables;
    expect(variables).toMatchObject({ BATCH_SETTLEMENT: 'on', CHANNEL_WITHDRAW_DELAY_SECONDS: '900' });
    expect(render(variables.FACILITATOR_TOKEN_SECRET_ARN)).toMatch(
      /^<Import:AgenticPayments-Facilitator:ExportsOutputRefAuthorizerToken[0-9A-F]{16}>$/,
    );
    expect(variables.FACILITATOR_TOKEN).toBeUndefined();
  });

  it('runs the claim job every 5 minutes, one at a time, on the payment table only, with the token by ARN', () => {
    const gateway = templates['AgenticPayments-PaymentsGateway'] as CfnTemplate;
    const t = Template.fromJSON(gateway as object);
    t.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'rate(5 minutes)',
      State: 'ENABLED',
      Targets: [
        Match.objectLike({
          Arn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^ClaimJobFunction'), 'Arn'] },
          RetryPolicy: { MaximumRetryAttempts: 0, MaximumEventAgeInSeconds: 300 },
        }),
      ],
    });
    const functions = resourcesOfType(gateway, 'AWS::Lambda::Function');
    const [, claim] = functions.find(([id]) => id.startsWith('ClaimJobFunction')) ?? [];
    expect(claim.Properties).toMatchObject({
      ReservedConcurrentExecutions: 1,
      Timeout: 180,
      Runtime: 'nodejs22.x',
      Architectures: ['arm64'],
      TracingConfig: { Mode: 'Active' },
    });
    const variables = claim.Properties.Environment.Variables;
    expect(Object.keys(variables).sort()).toStrictEqual([
      'BATCH_SETTLEMENT',
      'CHANNEL_REFUND_IDLE_SECONDS',
      'CHANNEL_WITHDRAW_DELAY_SECONDS',
      'FACILITATOR_KIND',
      'FACILITATOR_TOKEN_SECRET_ARN',
      'FACILITATOR_URL',
      'NETWORK',
      'NODE_OPTIONS',
      'PAYMENT_TABLE',
      'SELLER_ADDRESS',
    ]);
    expect(variables).toMatchObject({
      BATCH_SETTLEMENT: 'on',
      CHANNEL_REFUND_IDLE_SECONDS: '86400',
      CHANNEL_WITHDRAW_DELAY_SECONDS: '900',
      FACILITATOR_KIND: 'ours',
      NETWORK: 'base-sepolia',
      PAYMENT_TABLE: { Ref: expect.stringMatching(/^PaymentTable/) },
    });
    const claimStatements = iamStatements(templates).filter(
      (s) => s.stack === 'AgenticPayments-PaymentsGateway' && /^ClaimJobRole/.test(s.logicalId),
    );
    const adapter = claimStatements.filter((s) => !s.actions.some((a) => /^(logs|xray):/.test(a)));
    expect(adapter.map((s) => s.actions.join(',')).sort()).toStrictEqual([
      'dynamodb:GetItem,dynamodb:PutItem,dynamodb:DeleteItem',
      'secretsmanager:GetSecretValue',
    ]);
    expect(Object.keys(gateway.Outputs ?? {})).toContain('ClaimJobFunctionName');
  });

  it('gives the claim job an environment the gateway config parser accepts once the loader added the token', async () => {
    const gateway = templates['AgenticPayments-PaymentsGateway'] as CfnTemplate;
    const [, claim] =
      resourcesOfType(gateway, 'AWS::Lambda::Function').find(([id]) => id.startsWith('ClaimJobFunction')) ??
      [];
    const {
      FACILITATOR_TOKEN_SECRET_ARN: _arn,
      FACILITATOR_URL: _url,
      PAYMENT_TABLE: _table,
      ...plain
    } = claim.Properties.Environment.Variables;
    // Tokens resolved as Lambda sees them at deploy time; the loader adds the token.
    const env = {
      ...plain,
      PAYMENT_TABLE: 'paymentsgateway-paymenttable',
      FACILITATOR_URL: 'https://facilitator.example',
      FACILITATOR_TOKEN: 'generated-token-0123456789',
    };
    const parsed = await parseWithPackageConfig(
      join(CDK_DIR, '../packages/gateway/src/config.ts'),
      'loadGatewayConfig',
      env,
    );
    expect(parsed).toMatchObject({
      config: {
        BATCH_SETTLEMENT: 'on',
        CHANNEL_REFUND_IDLE_SECONDS: 86400,
        CHANNEL_WITHDRAW_DELAY_SECONDS: 900,
        FACILITATOR_KIND: 'ours',
        FACILITATOR_TOKEN: 'generated-token-0123456789',
      },
    });
  });

  it('bundles the claim job behind the token loader, which runs before the claim job reads env', async () => {
    const gateway = templates['AgenticPayments-PaymentsGateway'] as CfnTemplate;
    const [, claim] =
      resourcesOfType(gateway, 'AWS::Lambda::Function').find(([id]) => id.startsWith('ClaimJobFunction')) ??
      [];
    const file = join(lambdaAssetDir(synth.outdir, claim), 'index.mjs');
    expect(
      await loadBundle(file, { SELLER_ADDRESS: '0x90F79bf6EB2c4f870365E785982E1f101E93b906' }),
    ).toStrictEqual({
      error: 'FACILITATOR_TOKEN_SECRET_ARN is not set: cannot load FACILITATOR_TOKEN',
    });
  });

  it('runs the prebuilt agent image and may pull from that repository only', () => {
    const agent = templates['AgenticPayments-Agent'] as CfnTemplate;
    const [, runtime] = resourcesOfType(agent, 'AWS::BedrockAgentCore::Runtime')[0] ?? [];
    expect(render(runtime.Properties.AgentRuntimeArtifact.ContainerConfiguration.ContainerUri)).toBe(
      '123456789012.dkr.ecr.us-east-1.<AWS::URLSuffix>/agentic-payments/agent:v7',
    );
    expect(runtime.Properties.EnvironmentVariables.SELLER_ADDRESS).toBe(
      '0x90F79bf6EB2c4f870365E785982E1f101E93b906',
    );
    expect(runtime.Properties.EnvironmentVariables.PAYMENT_SCHEME).toBe('batch-settlement');
    const pulls = iamStatements(templates).filter((s) => s.actions.includes('ecr:BatchGetImage'));
    expect(pulls.map((s) => s.resources)).toStrictEqual([
      ['arn:<AWS::Partition>:ecr:us-east-1:123456789012:repository/agentic-payments/agent'],
    ]);
    expect(resourcesOfType(agent, 'AWS::ECR::Repository')).toStrictEqual([]);
  });
});

describe('PaymentsGatewayStack with facilitatorKind cdp', () => {
  it('keeps the CDP API key in Secrets Manager and loads it in the Lambda before the gateway starts', async () => {
    const outdir = mkdtempSync(join(tmpdir(), 'agentic-payments-cdk-'));
    onTestFinished(() => rmSync(outdir, { recursive: true, force: true }));
    const app = new App({ outdir, context: { 'aws:cdk:enable-asset-metadata': true } });
    const config = parseAppConfig({
      facilitatorKind: 'cdp',
      facilitatorUrl: 'https://api.cdp.coinbase.com/platform/v2/x402',
    });
    const stack = new PaymentsGatewayStack(app, 'CdpGateway', {
      env: { region: 'us-east-1' },
      config,
      entry: FIXTURE,
      cdpEntry: GATEWAY_CDP_SHIM_ENTRY,
    });
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
    const assembly = app.synth();
    const cfn = assembly.getStackByName('CdpGateway').template as CfnTemplate;
    const t = Template.fromJSON(cfn);
    t.resourceCountIs('AWS::SecretsManager::Secret', 1);
    t.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({
          FACILITATOR_KIND: 'cdp',
          FACILITATOR_URL: 'https://api.cdp.coinbase.com/platform/v2/x402',
          CDP_SECRET_ARN: { Ref: Match.stringLikeRegexp('^CdpFacilitatorCredentials') },
        }),
      },
    });
    const [, fn] = resourcesOfType(cfn, 'AWS::Lambda::Function')[0] ?? [];
    expect(Object.keys(fn.Properties.Environment.Variables)).not.toContain('CDP_API_KEY_SECRET');
    const file = join(assembly.directory, fn.Metadata['aws:asset:path'], 'index.mjs');
    expect(await loadBundle(file, {})).toStrictEqual({
      error: 'CDP_SECRET_ARN is not set: cannot load CDP_API_KEY_ID, CDP_API_KEY_SECRET',
    });
    expect(stack.cdpSecret).toBeDefined();
  });
});

describe('AgentStack model policy follows agentModelId', () => {
  const agentStack = (context: Record<string, unknown>, region = 'us-east-1') => {
    const app = new App();
    const stack = new AgentStack(app, 'Agent', {
      env: { region },
      config: parseAppConfig({ agentImageUri: IMAGE_URI, ...context }),
      bundler: join(CDK_DIR, 'no-such-bundler.ts'),
      gatewayUrl: 'https://example.com',
      sellerAddress: '0x90F79bf6EB2c4f870365E785982E1f101E93b906',
    });
    const cfn = Template.fromStack(stack).toJSON() as CfnTemplate;
    return iamStatements({ Agent: cfn })
      .filter((s) => s.actions.some((a) => a.startsWith('bedrock:')))
      .map((s) => ({ sid: s.sid, resources: s.resources, condition: s.condition }));
  };

  it('allows an EU profile in any Region it routes to, only through that profile', () => {
    const model = 'eu.anthropic.claude-sonnet-4-5-20250929-v1:0';
    const profile = `arn:<AWS::Partition>:bedrock:eu-west-1:<AWS::AccountId>:inference-profile/${model}`;
    const statements = agentStack({ agentModelId: model }, 'eu-west-1');
    expect(statements.map(({ sid, resources }) => ({ sid, resources }))).toStrictEqual([
      { sid: 'InvokeClaudeProfile', resources: [profile] },
      {
        sid: 'InvokeClaudeThroughProfile',
        resources: [
          'arn:<AWS::Partition>:bedrock:*::foundation-model/anthropic.claude-sonnet-4-5-20250929-v1:0',
        ],
      },
    ]);
    const condition = statements[1]?.condition as { StringEquals: Record<string, unknown> };
    expect(render(condition.StringEquals['bedrock:InferenceProfileArn'])).toBe(profile);
  });

  it('allows a plain foundation model id in the stack Region only, with no profile', () => {
    expect(agentStack({ agentModelId: 'anthropic.claude-sonnet-4-5-20250929-v1:0' })).toStrictEqual([
      {
        sid: 'InvokeClaudeModel',
        resources: [
          'arn:<AWS::Partition>:bedrock:us-east-1::foundation-model/anthropic.claude-sonnet-4-5-20250929-v1:0',
        ],
        condition: undefined,
      },
    ]);
  });

  it('refuses a profile of another geography than the stack Region', () => {
    expect(() =>
      agentStack({ agentModelId: 'us.anthropic.claude-sonnet-4-5-20250929-v1:0' }, 'eu-central-1'),
    ).toThrow(
      'agentModelId us.anthropic.claude-sonnet-4-5-20250929-v1:0 is a us inference profile, which cannot be called from eu-central-1',
    );
  });
});
