import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AGENT_BUNDLE_FILES, CDP_SECRET_KEYS } from '../lib/agent-stack.ts';
import { REPO_ROOT } from '../lib/paths.ts';
import {
  type CfnTemplate,
  iamStatements,
  type Json,
  lambdaAssetDir,
  loadBundle,
  parseWithPackageConfig,
  readJson,
  render,
  resourcesOfType,
  type Synthesized,
  synthesize,
} from './support.ts';

const STACKS = {
  gateway: 'AgenticPayments-PaymentsGateway',
  agent: 'AgenticPayments-Agent',
  realtime: 'AgenticPayments-Realtime',
  frontend: 'AgenticPayments-Frontend',
} as const;

/**
 * The only wildcard resources any statement may carry, each one AWS requires, by name. A statement
 * with a `*` in a resource must match one of these by action set and resource shape.
 */
const AWS_REQUIRED_WILDCARDS: { name: string; actions: string[]; resource: RegExp; condition?: unknown }[] = [
  {
    name: 'X-Ray PutTraceSegments/PutTelemetryRecords (Lambda active tracing): no resource-level permissions',
    actions: ['xray:PutTraceSegments', 'xray:PutTelemetryRecords'],
    resource: /^\*$/,
  },
  {
    name: 'X-Ray trace writes and sampling (AgentCore runtime): no resource-level permissions',
    actions: [
      'xray:PutTraceSegments',
      'xray:PutTelemetryRecords',
      'xray:GetSamplingRules',
      'xray:GetSamplingTargets',
    ],
    resource: /^\*$/,
  },
  {
    name: 'ecr:GetAuthorizationToken (pulling the agent image): account-wide token, no resource',
    actions: ['ecr:GetAuthorizationToken'],
    resource: /^\*$/,
  },
  {
    name: 'cloudwatch:PutMetricData (AgentCore runtime): no resources, limited to the bedrock-agentcore namespace',
    actions: ['cloudwatch:PutMetricData'],
    resource: /^\*$/,
    condition: { StringEquals: { 'cloudwatch:namespace': 'bedrock-agentcore' } },
  },
  {
    name: 'AgentCore runtime log groups: named after the runtime id AgentCore assigns',
    actions: ['logs:DescribeLogStreams', 'logs:CreateLogGroup'],
    resource: /:logs:us-east-1:<AWS::AccountId>:log-group:\/aws\/bedrock-agentcore\/runtimes\/\*$/,
  },
  {
    name: 'AgentCore runtime log streams: one per session',
    actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
    resource: /:log-group:\/aws\/bedrock-agentcore\/runtimes\/\*:log-stream:\*$/,
  },
  {
    name: 'logs:DescribeLogGroups: a list action authorized on log-group:* only',
    actions: ['logs:DescribeLogGroups'],
    resource: /:logs:us-east-1:<AWS::AccountId>:log-group:\*$/,
  },
  {
    name: 'AgentCore workload identity tokens: identity created by AgentCore with a generated name',
    actions: [
      'bedrock-agentcore:GetWorkloadAccessToken',
      'bedrock-agentcore:GetWorkloadAccessTokenForJWT',
      'bedrock-agentcore:GetWorkloadAccessTokenForUserId',
    ],
    resource: /:workload-identity-directory\/default\/workload-identity\/\*$/,
  },
  {
    name: 'Claude in every Region its inference profile routes to, only through that profile (bedrock:InferenceProfileArn)',
    actions: ['bedrock:InvokeModel', 'bedrock:InvokeModelWithResponseStream'],
    resource:
      /^arn:<AWS::Partition>:bedrock:\*::foundation-model\/anthropic\.claude-sonnet-4-5-20250929-v1:0$/,
  },
  {
    name: 'ManageConnections: connection ids of this WebSocket API stage only',
    actions: ['execute-api:ManageConnections'],
    resource:
      /^arn:<AWS::Partition>:execute-api:us-east-1:<AWS::AccountId>:<Api[0-9A-F]{8}>\/prod\/POST\/@connections\/\*$/,
  },
  {
    name: 'S3 objects under sessions/ of the realtime images bucket',
    actions: ['s3:PutObject', 's3:GetObject'],
    resource: /^<ImagesBucket[0-9A-F]{8}\.Arn>\/sessions\/\*$/,
  },
  {
    name: 'BucketDeployment (chat page): reads the staged page, an object of the CDK bootstrap asset bucket named by its hash',
    actions: ['s3:GetObject*', 's3:GetBucket*', 's3:List*'],
    resource: /^arn:<AWS::Partition>:s3:::cdk-hnb659fds-assets-\$\{AWS::AccountId\}-us-east-1\/\*$/,
  },
  {
    name: 'BucketDeployment (chat page): replaces every object of the chat site bucket',
    actions: [
      's3:GetObject*',
      's3:GetBucket*',
      's3:List*',
      's3:DeleteObject*',
      's3:PutObject',
      's3:PutObjectLegalHold',
      's3:PutObjectRetention',
      's3:PutObjectTagging',
      's3:PutObjectVersionTagging',
      's3:Abort*',
    ],
    resource: /^<ChatSite[0-9A-F]{8}\.Arn>\/\*$/,
  },
  {
    name: 'BucketDeployment (chat page): CloudFront invalidations, granted on * by aws-cdk-lib',
    actions: ['cloudfront:GetInvalidation', 'cloudfront:CreateInvalidation'],
    resource: /^\*$/,
  },
  {
    name: 'S3 objects under images/ of the gateway images bucket',
    actions: ['s3:PutObject', 's3:GetObject'],
    resource: /^<ImagesBucket[0-9A-F]{8}\.Arn>\/images\/\*$/,
  },
];

/** Plausible values for the deploy-time tokens in a Lambda's environment, to load its bundle. */
const TOKEN_STAND_INS: Record<string, string> = {
  SELLER_ADDRESS: '0x90F79bf6EB2c4f870365E785982E1f101E93b906',
  PAYMENT_TABLE: 'payments-table',
  CONNECTIONS_TABLE: 'connections-table',
  TURN_WORKER_FUNCTION: 'turn-worker-function',
  IMAGE_BUCKET: 'gateway-images-bucket',
  IMAGES_BUCKET: 'realtime-images-bucket',
  AGENT_RUNTIME_ARN:
    'arn:aws:bedrock-agentcore:us-east-1:123456789012:runtime/AgenticPayments_agent-AbCdEf1234',
};

/** Plausible values for the deploy-time tokens in the agent runtime's environment. */
const AGENT_TOKEN_STAND_INS: Record<string, string> = {
  GATEWAY_URL: 'https://abc123defg.execute-api.us-east-1.amazonaws.com',
  SELLER_ADDRESS: '0x90F79bf6EB2c4f870365E785982E1f101E93b906',
  MEMORY_ID: 'AgenticPayments_sessions-AbCdEf1234',
  CDP_SECRET_ARN: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:CdpCredentials-AbCdEf',
  WALLET_BUDGET_TABLE: 'wallet-budget-table',
};

let synth: Synthesized;
let templates: Record<string, CfnTemplate>;
const template = (stack: keyof typeof STACKS) => Template.fromJSON(templates[STACKS[stack]] as object);

beforeAll(() => {
  // One synth for the whole file: real entrypoints, default context, cdk-nag on, no credentials.
  synth = synthesize();
  templates = synth.templates;
});

afterAll(() => synth?.cleanup());

describe('cdk synth (offline, no Docker, no credentials)', () => {
  it('produces one stack per concern and no facilitator stack by default', () => {
    expect(Object.keys(templates).sort()).toStrictEqual(Object.values(STACKS).sort());
  });

  it('leaves the account to deploy time and defaults the region to us-east-1', () => {
    for (const stack of [
      synth.built.gateway,
      synth.built.agent,
      synth.built.realtime,
      synth.built.frontend,
    ]) {
      expect(stack.region).toBe('us-east-1');
      expect(stack.account).toMatch(/^\$\{Token\[AWS\.AccountId\.\d+\]\}$/);
    }
  });

  it('passes cdk-nag AwsSolutions with only the acknowledgements listed here, each with a reason', () => {
    // synth() above threw on any unacknowledged finding; this pins what was acknowledged, where.
    const acknowledged = new Set<string>();
    for (const [stack, cfn] of Object.entries(templates)) {
      for (const [logicalId, resource] of Object.entries(cfn.Resources)) {
        for (const rule of resource.Metadata?.cdk_nag?.rules_to_suppress ?? []) {
          if (!String(rule.id).startsWith('AwsSolutions-')) continue;
          expect(String(rule.reason).length, `${logicalId} ${rule.id}`).toBeGreaterThan(40);
          // Logical ids lose their hash suffix so the list reads (and survives refactors) by name.
          const id = String(rule.id).replace(/([A-Za-z])[0-9A-F]{8}(?=[.>])/g, '$1');
          acknowledged.add(
            `${stack.replace('AgenticPayments-', '')} ${logicalId.replace(/[0-9A-F]{8}$/, '')} ${id}`,
          );
        }
      }
    }
    const route = (id: string) => `Realtime ${id} AwsSolutions-APIG4`;
    const httpRoute = (id: string) => `PaymentsGateway ${id} AwsSolutions-APIG4`;
    expect([...acknowledged].sort()).toStrictEqual(
      [
        'Agent CdpCredentials AwsSolutions-SMG4',
        'Agent RuntimeExecutionRoleDefaultPolicy AwsSolutions-IAM5[Resource::*]',
        'Agent RuntimeExecutionRoleDefaultPolicy AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:logs:us-east-1:<AWS::AccountId>:log-group:/aws/bedrock-agentcore/runtimes/*]',
        'Agent RuntimeExecutionRoleDefaultPolicy AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:logs:us-east-1:<AWS::AccountId>:log-group:/aws/bedrock-agentcore/runtimes/*:log-stream:*]',
        'Agent RuntimeExecutionRoleDefaultPolicy AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:logs:us-east-1:<AWS::AccountId>:log-group:*]',
        'Agent RuntimeExecutionRoleDefaultPolicy AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:bedrock-agentcore:us-east-1:<AWS::AccountId>:workload-identity-directory/default/workload-identity/*]',
        'Agent RuntimeExecutionRoleDefaultPolicy AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:bedrock:*::foundation-model/anthropic.claude-sonnet-4-5-20250929-v1:0]',
        'Frontend ChatLogs AwsSolutions-S1',
        'Frontend ChatLogsPolicy AwsSolutions-S1',
        'Frontend ChatDistribution AwsSolutions-CFR1',
        'Frontend ChatDistribution AwsSolutions-CFR2',
        'Frontend ChatDistribution AwsSolutions-CFR4',
        'Frontend ChatDeploymentRoleDefaultPolicy AwsSolutions-IAM5[Action::s3:GetObject*]',
        'Frontend ChatDeploymentRoleDefaultPolicy AwsSolutions-IAM5[Action::s3:GetBucket*]',
        'Frontend ChatDeploymentRoleDefaultPolicy AwsSolutions-IAM5[Action::s3:List*]',
        'Frontend ChatDeploymentRoleDefaultPolicy AwsSolutions-IAM5[Action::s3:DeleteObject*]',
        'Frontend ChatDeploymentRoleDefaultPolicy AwsSolutions-IAM5[Action::s3:Abort*]',
        'Frontend ChatDeploymentRoleDefaultPolicy AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:s3:::cdk-hnb659fds-assets-<AWS::AccountId>-us-east-1/*]',
        'Frontend ChatDeploymentRoleDefaultPolicy AwsSolutions-IAM5[Resource::<ChatSite.Arn>/*]',
        'Frontend ChatDeploymentRoleDefaultPolicy AwsSolutions-IAM5[Resource::*]',
        'Frontend CustomCDKBucketDeployment8693BB64968944B69AAFB0CC9EB8756C512MiB AwsSolutions-L1',
        'PaymentsGateway ImagesAccessLogs AwsSolutions-S1',
        'PaymentsGateway ImagesAccessLogsPolicy AwsSolutions-S1',
        'PaymentsGateway GatewayRoleDefaultPolicy AwsSolutions-IAM5[Resource::*]',
        'PaymentsGateway GatewayRoleDefaultPolicy AwsSolutions-IAM5[Resource::<ImagesBucket.Arn>/images/*]',
        'PaymentsGateway GatewayFunction AwsSolutions-L1',
        httpRoute('ApiPOSTgenerateimageGatewayIntegration'),
        httpRoute('ApiPOSTgenerateimageGatewayIntegrationPermission'),
        httpRoute('ApiPOSTgenerateimage'),
        httpRoute('ApiGEThealthGatewayIntegrationPermission'),
        httpRoute('ApiGEThealth'),
        httpRoute('ApiGETimagesidGatewayIntegrationPermission'),
        httpRoute('ApiGETimagesid'),
        'Realtime ImagesAccessLogs AwsSolutions-S1',
        'Realtime ImagesAccessLogsPolicy AwsSolutions-S1',
        'Realtime ConnectRoleDefaultPolicy AwsSolutions-IAM5[Resource::*]',
        'Realtime ConnectFunction AwsSolutions-L1',
        'Realtime DisconnectRoleDefaultPolicy AwsSolutions-IAM5[Resource::*]',
        'Realtime DisconnectFunction AwsSolutions-L1',
        'Realtime DefaultRouteRoleDefaultPolicy AwsSolutions-IAM5[Resource::*]',
        'Realtime DefaultRouteRoleDefaultPolicy AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:execute-api:us-east-1:<AWS::AccountId>:<Api>/prod/POST/@connections/*]',
        'Realtime DefaultRouteFunction AwsSolutions-L1',
        'Realtime TurnWorkerRoleDefaultPolicy AwsSolutions-IAM5[Resource::*]',
        'Realtime TurnWorkerRoleDefaultPolicy AwsSolutions-IAM5[Resource::<ImagesBucket.Arn>/sessions/*]',
        'Realtime TurnWorkerRoleDefaultPolicy AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:execute-api:us-east-1:<AWS::AccountId>:<Api>/prod/POST/@connections/*]',
        'Realtime TurnWorkerFunction AwsSolutions-L1',
        route('ApiconnectRouteConnectIntegrationPermission'),
        route('ApiconnectRouteConnectIntegration'),
        route('ApiconnectRoute'),
        route('ApidisconnectRouteDisconnectIntegrationPermission'),
        route('ApidisconnectRouteDisconnectIntegration'),
        route('ApidisconnectRoute'),
        route('ApidefaultRouteDefaultIntegrationPermission'),
        route('ApidefaultRouteDefaultIntegration'),
        route('ApidefaultRoute'),
        'Realtime ApiGatewayCloudWatchRole AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs]',
      ].sort(),
    );
  });
});

describe('payments gateway stack', () => {
  it('routes POST /generate_image, GET /health and GET /images/{id} to the gateway Lambda on an HTTP API', () => {
    const t = template('gateway');
    t.resourceCountIs('AWS::ApiGatewayV2::Api', 1);
    t.hasResourceProperties('AWS::ApiGatewayV2::Api', { ProtocolType: 'HTTP' });
    const routes = resourcesOfType(templates[STACKS.gateway] as CfnTemplate, 'AWS::ApiGatewayV2::Route').map(
      ([, r]) => r.Properties.RouteKey,
    );
    expect(routes.sort()).toStrictEqual(['GET /health', 'GET /images/{id}', 'POST /generate_image']);
  });

  it('logs every request of the $default stage as JSON and throttles it', () => {
    const t = template('gateway');
    t.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      StageName: '$default',
      AutoDeploy: true,
      AccessLogSettings: {
        DestinationArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^ApiAccessLogs'), 'Arn'] },
        Format: Match.stringLikeRegexp('"requestId":"\\$context.requestId"'),
      },
      DefaultRouteSettings: { ThrottlingRateLimit: 50, ThrottlingBurstLimit: 100 },
    });
  });

  it('keeps payments in an on-demand table with point-in-time recovery and the ttl attribute the gateway writes', () => {
    template('gateway').hasResource('AWS::DynamoDB::Table', {
      Properties: {
        BillingMode: 'PAY_PER_REQUEST',
        KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
        TimeToLiveSpecification: { AttributeName: 'ttl', Enabled: true },
        SSESpecification: { SSEEnabled: true },
      },
      DeletionPolicy: 'Retain',
    });
  });

  it('runs the gateway on ARM64 Node 22 with tracing, its own log group and the cloud adapters configured', () => {
    const t = template('gateway');
    t.hasResourceProperties('AWS::Lambda::Function', {
      Runtime: 'nodejs22.x',
      Architectures: ['arm64'],
      Handler: 'index.handler',
      TracingConfig: { Mode: 'Active' },
      LoggingConfig: { LogFormat: 'JSON', LogGroup: { Ref: Match.stringLikeRegexp('^GatewayLogs') } },
      Environment: {
        Variables: Match.objectLike({
          NETWORK: 'base-sepolia',
          FACILITATOR_URL: 'https://x402.org/facilitator',
          FACILITATOR_KIND: 'x402.org',
          IMAGE_GENERATOR: 'bedrock',
          EXPLORER_URL: 'https://sepolia.basescan.org',
          RPC_URL: 'https://sepolia.base.org',
          PAYMENT_TABLE: { Ref: Match.stringLikeRegexp('^PaymentTable') },
          IMAGE_BUCKET: { Ref: Match.stringLikeRegexp('^ImagesBucket') },
          SELLER_ADDRESS: { Ref: Match.stringLikeRegexp('^SsmParameterValueagenticpaymentssellera') },
          // batch-settlement needs our facilitator (its token) and the claim job: exact only here.
          BATCH_SETTLEMENT: 'off',
        }),
      },
    });
    t.hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 30 });
  });

  it('has no batch-settlement claim job without our own facilitator', () => {
    const t = template('gateway');
    t.resourceCountIs('AWS::Lambda::Function', 1);
    t.resourceCountIs('AWS::Events::Rule', 0);
    expect(synth.built.gateway.claims).toBeUndefined();
  });

  it('reads the seller address from SSM Parameter Store at deploy time, so synth needs no value', () => {
    const parameters = templates[STACKS.gateway]?.Parameters ?? {};
    const ssm = Object.values(parameters).filter(
      (p) =>
        p.Type === 'AWS::SSM::Parameter::Value<String>' && !String(p.Default).startsWith('/cdk-bootstrap/'),
    );
    expect(ssm).toStrictEqual([
      { Type: 'AWS::SSM::Parameter::Value<String>', Default: '/agentic-payments/seller-address' },
    ]);
  });

  it('may use items of the payment table, objects under images/ and the listing of its bucket, nothing more', () => {
    const gateway = iamStatements(templates).filter(
      (s) => s.stack === STACKS.gateway && /^GatewayRole/.test(s.logicalId),
    );
    const byAction = Object.fromEntries(gateway.map((s) => [s.actions.join(','), s.resources]));
    expect(byAction['dynamodb:GetItem,dynamodb:PutItem,dynamodb:DeleteItem']).toStrictEqual([
      expect.stringMatching(/^<PaymentTable[0-9A-F]{8}\.Arn>$/),
    ]);
    expect(byAction['s3:PutObject,s3:GetObject']).toStrictEqual([
      expect.stringMatching(/^<ImagesBucket[0-9A-F]{8}\.Arn>\/images\/\*$/),
    ]);
    expect(byAction['s3:ListBucket']).toStrictEqual([
      expect.stringMatching(/^<ImagesBucket[0-9A-F]{8}\.Arn>$/),
    ]);
    expect(Object.keys(byAction)).toHaveLength(6);
  });

  it('may invoke Nova Canvas and nothing else on Bedrock', () => {
    const bedrock = iamStatements(templates).filter(
      (s) => s.stack === STACKS.gateway && s.actions.some((a) => a.startsWith('bedrock:')),
    );
    expect(bedrock.map((s) => [s.actions, s.resources])).toStrictEqual([
      [
        ['bedrock:InvokeModel'],
        ['arn:<AWS::Partition>:bedrock:us-east-1::foundation-model/amazon.nova-canvas-v1:0'],
      ],
    ]);
  });
});

describe('agent stack', () => {
  it('runs the agent container on an AgentCore Runtime with memory and the secret ARN (never its value)', () => {
    const t = template('agent');
    t.resourceCountIs('AWS::BedrockAgentCore::Runtime', 1);
    t.resourceCountIs('AWS::BedrockAgentCore::Memory', 1);
    t.hasResourceProperties('AWS::BedrockAgentCore::Runtime', {
      AgentRuntimeName: 'AgenticPayments_agent',
      AgentRuntimeArtifact: {
        ContainerConfiguration: { ContainerUri: { 'Fn::Sub': Match.stringLikeRegexp('container-assets') } },
      },
      NetworkConfiguration: { NetworkMode: 'PUBLIC' },
      EnvironmentVariables: {
        AGENT_MODEL: 'bedrock',
        BEDROCK_MODEL_ID: 'us.anthropic.claude-sonnet-4-5-20250929-v1:0',
        IMAGE_ANALYZER: 'bedrock',
        AWS_REGION: 'us-east-1',
        GATEWAY_URL: Match.anyValue(),
        NETWORK: 'base-sepolia',
        RPC_URL: 'https://sepolia.base.org',
        EXPLORER_URL: 'https://sepolia.basescan.org',
        SELLER_ADDRESS: { 'Fn::ImportValue': Match.stringLikeRegexp('PaymentsGateway') },
        MEMORY_ID: { 'Fn::GetAtt': [Match.stringLikeRegexp('^Memory'), 'MemoryId'] },
        CDP_SECRET_ARN: { Ref: Match.stringLikeRegexp('^CdpCredentials') },
        CONSENT_MODE: 'auto',
        MAX_PAYMENT_USDC: '0.10',
        SESSION_BUDGET_USDC: '1.00',
      },
    });
  });

  it('points the agent at the gateway stage URL without a trailing slash', () => {
    const [, runtime] =
      resourcesOfType(templates[STACKS.agent] as CfnTemplate, 'AWS::BedrockAgentCore::Runtime')[0] ?? [];
    expect(render(runtime.Properties.EnvironmentVariables.GATEWAY_URL)).toMatch(
      /^https:\/\/<Import:AgenticPayments-PaymentsGateway:ExportsOutputRefApi[0-9A-F]{8}[0-9A-F]{8}>\.execute-api\.us-east-1\.<AWS::URLSuffix>$/,
    );
  });

  it('gives the container an environment the agent config parser accepts (Bedrock, AgentCore Memory, CDP secret)', async () => {
    const [, runtime] =
      resourcesOfType(templates[STACKS.agent] as CfnTemplate, 'AWS::BedrockAgentCore::Runtime')[0] ?? [];
    const env: Record<string, string> = {};
    for (const [name, value] of Object.entries<unknown>(runtime.Properties.EnvironmentVariables)) {
      const standIn = typeof value === 'string' ? value : AGENT_TOKEN_STAND_INS[name];
      if (standIn === undefined) throw new Error(`no stand-in for deploy-time ${name}`);
      env[name] = standIn;
    }
    const parsed = await parseWithPackageConfig(
      join(REPO_ROOT, 'packages/agent/src/config.ts'),
      'loadConfig',
      env,
    );
    expect(parsed).toMatchObject({
      config: {
        gatewayUrl: AGENT_TOKEN_STAND_INS.GATEWAY_URL,
        sellerAddress: AGENT_TOKEN_STAND_INS.SELLER_ADDRESS,
        wallet: { kind: 'cdp-secret', secretArn: AGENT_TOKEN_STAND_INS.CDP_SECRET_ARN },
        model: {
          kind: 'bedrock',
          modelId: 'us.anthropic.claude-sonnet-4-5-20250929-v1:0',
          region: 'us-east-1',
        },
        memory: { kind: 'agentcore', memoryId: AGENT_TOKEN_STAND_INS.MEMORY_ID, region: 'us-east-1' },
        maxPayment: '100000',
        sessionBudget: '1000000',
        consentMode: 'auto',
        imageAnalyzer: 'bedrock',
      },
    });
  });

  it('creates the CDP secret with a generated placeholder, so no credential is ever in the template', () => {
    const secrets = resourcesOfType(templates[STACKS.agent] as CfnTemplate, 'AWS::SecretsManager::Secret');
    expect(secrets).toHaveLength(1);
    const [, secret] = secrets[0] ?? [];
    expect(secret.Properties.SecretString).toBeUndefined();
    expect(secret.Properties.GenerateSecretString).toStrictEqual({
      SecretStringTemplate: '{"CDP_API_KEY_ID":"","CDP_API_KEY_SECRET":"","CDP_WALLET_SECRET":""}',
      GenerateStringKey: 'placeholder',
    });
    expect(secret.Properties.Description).toContain(CDP_SECRET_KEYS.join(', '));
  });

  it('lets the execution role call Claude only through its inference profile, in the Regions it routes to', () => {
    const bedrock = iamStatements(templates).filter(
      (s) => s.stack === STACKS.agent && s.actions.some((a) => a.startsWith('bedrock:')),
    );
    const profile =
      'arn:<AWS::Partition>:bedrock:us-east-1:<AWS::AccountId>:inference-profile/us.anthropic.claude-sonnet-4-5-20250929-v1:0';
    expect(bedrock.map((s) => ({ sid: s.sid, actions: s.actions, resources: s.resources }))).toStrictEqual([
      {
        sid: 'InvokeClaudeProfile',
        actions: ['bedrock:InvokeModel', 'bedrock:InvokeModelWithResponseStream'],
        resources: [profile],
      },
      {
        sid: 'InvokeClaudeThroughProfile',
        actions: ['bedrock:InvokeModel', 'bedrock:InvokeModelWithResponseStream'],
        // Every Region the profile routes to, whichever AWS lists: only through this profile (below).
        resources: [
          'arn:<AWS::Partition>:bedrock:*::foundation-model/anthropic.claude-sonnet-4-5-20250929-v1:0',
        ],
      },
    ]);
    const routed = bedrock[1]?.condition as { StringEquals: Record<string, unknown> };
    expect(render(routed.StringEquals['bedrock:InferenceProfileArn'])).toBe(profile);
  });

  it('lets the execution role use this memory and read this secret only', () => {
    const statements = iamStatements(templates).filter(
      (s) =>
        s.stack === STACKS.agent &&
        s.actions.some((a) => a.startsWith('bedrock-agentcore:') && /Event|Memory|Actors|Sessions/.test(a)),
    );
    expect(statements.flatMap((s) => s.resources)).toStrictEqual([
      expect.stringMatching(/^<Memory[0-9A-F]{8}\.MemoryArn>$/),
    ]);
    expect(statements.flatMap((s) => s.actions).sort()).toStrictEqual([
      'bedrock-agentcore:CreateEvent',
      'bedrock-agentcore:DeleteEvent',
      'bedrock-agentcore:ListEvents',
    ]);
    const secretReads = iamStatements(templates).filter((s) =>
      s.actions.some((a) => a.startsWith('secretsmanager:')),
    );
    expect(secretReads.map((s) => [s.stack, s.actions, s.resources])).toStrictEqual([
      [
        STACKS.agent,
        ['secretsmanager:GetSecretValue'],
        [expect.stringMatching(/^<CdpCredentials[0-9A-F]{8}>$/)],
      ],
    ]);
  });

  it('builds the agent image from the agent bundle alone (server.mjs + Dockerfile, ARM64) at deploy time', () => {
    const assets = readJson<{
      dockerImages: Record<string, { source: { directory: string; dockerFile?: string; platform?: string } }>;
    }>(join(synth.outdir, `${STACKS.agent}.assets.json`));
    const images = Object.values(assets.dockerImages);
    expect(images).toHaveLength(1);
    const source = images[0]?.source;
    expect(source?.dockerFile ?? 'Dockerfile').toBe('Dockerfile');
    expect(source?.platform).toBe('linux/arm64');
    const context = join(synth.outdir, source?.directory ?? 'missing');
    expect(readdirSync(context).sort()).toStrictEqual([...AGENT_BUNDLE_FILES].sort());
    expect(readFileSync(join(context, 'Dockerfile'), 'utf8')).toBe(
      readFileSync(join(REPO_ROOT, 'packages/agent/Dockerfile'), 'utf8'),
    );
    const bundleBytes = statSync(join(context, 'server.mjs')).size;
    expect(bundleBytes).toBeGreaterThan(1_000_000);
    expect(bundleBytes).toBeLessThanOrEqual(20_000_000);
  });
});

describe('realtime stack', () => {
  it('has a WebSocket API with $connect, $disconnect and $default Lambdas and a throttled, logged stage', () => {
    const t = template('realtime');
    t.hasResourceProperties('AWS::ApiGatewayV2::Api', { ProtocolType: 'WEBSOCKET' });
    const routes = resourcesOfType(templates[STACKS.realtime] as CfnTemplate, 'AWS::ApiGatewayV2::Route').map(
      ([, r]) => r.Properties.RouteKey,
    );
    expect(routes.sort()).toStrictEqual(['$connect', '$default', '$disconnect']);
    t.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      StageName: 'prod',
      AccessLogSettings: {
        DestinationArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^ApiAccessLogs'), 'Arn'] },
        Format: Match.stringLikeRegexp('"connectionId":"\\$context.connectionId"'),
      },
      DefaultRouteSettings: { ThrottlingRateLimit: 10, ThrottlingBurstLimit: 20 },
    });
    t.resourceCountIs('AWS::ApiGateway::Account', 1);
    t.resourcePropertiesCountIs(
      'AWS::Lambda::Function',
      { Runtime: 'nodejs22.x', Architectures: ['arm64'] },
      4,
    );
  });

  it('keeps connections in an on-demand table with TTL and point-in-time recovery', () => {
    template('realtime').hasResourceProperties('AWS::DynamoDB::Table', {
      BillingMode: 'PAY_PER_REQUEST',
      KeySchema: [{ AttributeName: 'connectionId', KeyType: 'HASH' }],
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      TimeToLiveSpecification: { AttributeName: 'ttl', Enabled: true },
    });
  });

  it('stores images in a private, SSL-only, encrypted, access-logged bucket whose sessions/ objects expire', () => {
    const t = template('realtime');
    t.hasResourceProperties('AWS::S3::Bucket', {
      PublicAccessBlockConfiguration: {
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      },
      BucketEncryption: {
        ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }],
      },
      LoggingConfiguration: { DestinationBucketName: { Ref: Match.stringLikeRegexp('^ImagesAccessLogs') } },
      LifecycleConfiguration: {
        Rules: [Match.objectLike({ Prefix: 'sessions/', ExpirationInDays: 7, Status: 'Enabled' })],
      },
    });
    t.hasResourceProperties('AWS::S3::BucketPolicy', {
      Bucket: { Ref: Match.stringLikeRegexp('^ImagesBucket') },
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: 'Deny',
            Action: 's3:*',
            Condition: { Bool: { 'aws:SecureTransport': 'false' } },
          }),
        ]),
      },
    });
  });

  it('gives the $default Lambda exactly its grants: the turn records and connections of this table, the worker, this API', () => {
    const byAction = grantsOf(/^DefaultRouteRole/);
    expect(Object.keys(byAction).sort()).toStrictEqual(
      [
        'logs:CreateLogStream,logs:PutLogEvents',
        'xray:PutTraceSegments,xray:PutTelemetryRecords',
        'dynamodb:GetItem,dynamodb:PutItem,dynamodb:DeleteItem',
        'lambda:InvokeFunction',
        'execute-api:ManageConnections',
      ].sort(),
    );
    expect(byAction['dynamodb:GetItem,dynamodb:PutItem,dynamodb:DeleteItem']).toStrictEqual([
      expect.stringMatching(/^<ConnectionsTable[0-9A-F]{8}\.Arn>$/),
    ]);
    // The unqualified worker only: no `:*` for versions or aliases, no other function.
    expect(byAction['lambda:InvokeFunction']).toStrictEqual([
      expect.stringMatching(/^<TurnWorkerFunction[0-9A-F]{8}\.Arn>$/),
    ]);
  });

  it('gives the turn worker exactly its grants: this runtime, this API, this bucket prefix, the turn records', () => {
    const byAction = grantsOf(/^TurnWorkerRole/);
    expect(Object.keys(byAction).sort()).toStrictEqual(
      [
        'logs:CreateLogStream,logs:PutLogEvents',
        'xray:PutTraceSegments,xray:PutTelemetryRecords',
        'dynamodb:UpdateItem,dynamodb:DeleteItem',
        's3:PutObject,s3:GetObject',
        'bedrock-agentcore:InvokeAgentRuntime',
        'execute-api:ManageConnections',
      ].sort(),
    );
    const runtimeArn =
      '<Import:AgenticPayments-Agent:ExportsOutputFnGetAttRuntime99E3DDFAAgentRuntimeArn83DF9A4C>';
    expect(byAction['bedrock-agentcore:InvokeAgentRuntime']).toStrictEqual([
      runtimeArn,
      `${runtimeArn}/runtime-endpoint/DEFAULT`,
    ]);
    expect(byAction['dynamodb:UpdateItem,dynamodb:DeleteItem']).toStrictEqual([
      expect.stringMatching(/^<ConnectionsTable[0-9A-F]{8}\.Arn>$/),
    ]);
  });

  it('integrates $default with the short accepting Lambda, which names the worker and the turn lease', () => {
    const t = template('realtime');
    const [, integration] =
      resourcesOfType(templates[STACKS.realtime] as CfnTemplate, 'AWS::ApiGatewayV2::Integration').find(
        ([id]) => /^ApidefaultRoute/.test(id),
      ) ?? [];
    expect(render(integration?.Properties.IntegrationUri)).toMatch(/DefaultRouteFunction[0-9A-F]{8}\.Arn/);
    t.hasResourceProperties('AWS::Lambda::Function', {
      Timeout: 10,
      Environment: {
        Variables: Match.objectLike({
          CONNECTIONS_TABLE: { Ref: Match.stringLikeRegexp('^ConnectionsTable') },
          TURN_WORKER_FUNCTION: { Ref: Match.stringLikeRegexp('^TurnWorkerFunction') },
          TURN_LEASE_SECONDS: '660',
        }),
      },
    });
  });

  it('runs the worker for up to 10 minutes with the agent timeout inside it, the same lease, and no async retries', () => {
    const t = template('realtime');
    t.hasResourceProperties('AWS::Lambda::Function', {
      Timeout: 600,
      Environment: {
        Variables: Match.objectLike({
          CONNECTIONS_TABLE: { Ref: Match.stringLikeRegexp('^ConnectionsTable') },
          IMAGES_BUCKET: { Ref: Match.stringLikeRegexp('^ImagesBucket') },
          AGENT_RUNTIME_ARN: { 'Fn::ImportValue': Match.stringLikeRegexp('AgentRuntimeArn') },
          AGENT_RUNTIME_QUALIFIER: 'DEFAULT',
          AGENT_TIMEOUT_MS: '570000',
          TURN_LEASE_SECONDS: '660',
        }),
      },
    });
    t.resourceCountIs('AWS::Lambda::EventInvokeConfig', 1);
    t.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
      FunctionName: { Ref: Match.stringLikeRegexp('^TurnWorkerFunction') },
      Qualifier: '$LATEST',
      MaximumRetryAttempts: 0,
      MaximumEventAgeInSeconds: 300,
    });
  });
});

function grantsOf(role: RegExp): Record<string, string[]> {
  const statements = iamStatements(templates).filter(
    (s) => s.stack === STACKS.realtime && role.test(s.logicalId),
  );
  return Object.fromEntries(statements.map((s) => [s.actions.join(','), s.resources]));
}

describe('frontend stack', () => {
  it('serves the chat from a private bucket through CloudFront (origin access control, HTTPS, SPA fallback, logs)', () => {
    const t = template('frontend');
    t.resourceCountIs('AWS::Amplify::App', 0);
    t.resourceCountIs('AWS::CloudFront::Distribution', 1);
    t.hasResourceProperties('AWS::CloudFront::Distribution', {
      DistributionConfig: Match.objectLike({
        DefaultRootObject: 'index.html',
        DefaultCacheBehavior: Match.objectLike({ ViewerProtocolPolicy: 'redirect-to-https' }),
        CustomErrorResponses: [
          { ErrorCode: 403, ResponseCode: 200, ResponsePagePath: '/index.html', ErrorCachingMinTTL: 0 },
          { ErrorCode: 404, ResponseCode: 200, ResponsePagePath: '/index.html', ErrorCachingMinTTL: 0 },
        ],
        Logging: Match.objectLike({ Prefix: 'cloudfront/' }),
        Origins: [Match.objectLike({ OriginAccessControlId: Match.anyValue() })],
      }),
    });
    t.hasResourceProperties('AWS::S3::Bucket', {
      PublicAccessBlockConfiguration: {
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      },
      LoggingConfiguration: Match.objectLike({ LogFilePrefix: 'site/' }),
    });
  });

  it('deploys the built page and a config.json holding the deploy-time WebSocket URL, then invalidates', () => {
    const [, deployment] =
      resourcesOfType(templates[STACKS.frontend] as CfnTemplate, 'Custom::CDKBucketDeployment')[0] ?? [];
    expect(deployment.Properties.DistributionPaths).toStrictEqual(['/*']);
    expect(deployment.Properties.Prune).toBe(true);
    const keys: Json[] = deployment.Properties.SourceObjectKeys;
    expect(keys).toHaveLength(2);
    // Each source is a zip asset staged in the cloud assembly as asset.<hash>/.
    const staged = (key: string) => join(synth.outdir, `asset.${key.replace(/\.zip$/, '')}`);
    // The page: Vite's build of frontend/ (index.html and its hashed assets), built at synth.
    const page = staged(String(keys[0]));
    expect(readdirSync(page)).toContain('index.html');
    expect(readdirSync(page)).not.toContain('config.json');
    expect(readFileSync(join(page, 'index.html'), 'utf8')).toMatch(
      /<script type="module"[^>]+src="\/assets\/[^"]+\.js"/,
    );
    // config.json: its values are markers replaced by the deployment with the stack's outputs.
    const configDir = staged(String(keys[1]));
    const config = JSON.parse(readFileSync(join(configDir, 'config.json'), 'utf8'));
    const markers: Record<string, Json> = deployment.Properties.SourceMarkers[1];
    const resolved = String(config.wsUrl).replace(/<<marker:0xbaba:\d+>>/g, (m) => render(markers[m]));
    expect(resolved).toMatch(
      /^wss:\/\/<Import:AgenticPayments-Realtime:ExportsOutputRefApi[0-9A-F]{16}>\.execute-api\.us-east-1\.<AWS::URLSuffix>\/prod$/,
    );
    expect(config.explorerUrl).toBe('https://sepolia.basescan.org');
    expect(deployment.Properties.SourceMarkers[0]).toStrictEqual({});
  });

  it('gives the deployment a role of its own with inline grants and its own log group', () => {
    const t = template('frontend');
    const roles = resourcesOfType(templates[STACKS.frontend] as CfnTemplate, 'AWS::IAM::Role');
    expect(roles.map(([id]) => id.replace(/[0-9A-F]{8}$/, ''))).toStrictEqual(['ChatDeploymentRole']);
    expect(roles[0]?.[1].Properties.ManagedPolicyArns).toBeUndefined();
    t.hasResourceProperties('AWS::Lambda::Function', {
      LoggingConfig: { LogGroup: { Ref: Match.stringLikeRegexp('^ChatDeploymentLogs') } },
    });
  });

  it('outputs the chat URL (CloudFront) and what the page and operators need', () => {
    const outputs = templates[STACKS.frontend]?.Outputs ?? {};
    expect(Object.keys(outputs).sort()).toStrictEqual(
      [
        'AgentRuntimeArn',
        'ChatBucketName',
        'ChatDistributionId',
        'ChatUrl',
        'GatewayUrl',
        'WebSocketUrl',
      ].sort(),
    );
    expect(render(outputs.ChatUrl.Value)).toMatch(/^https:\/\/<ChatDistribution[0-9A-F]{8}\.DomainName>$/);
  });

  it("pins a Node version in frontend/amplify.yml that Vite's engines accept (Git-connected Amplify builds)", () => {
    const buildSpec = readFileSync(join(REPO_ROOT, 'frontend/amplify.yml'), 'utf8');
    const major = Number(/nvm install (\d+)\b/.exec(buildSpec)?.[1]);
    expect(buildSpec).toContain(`nvm use ${major}`);
    const vite = readJson<{ engines: { node: string } }>(
      join(REPO_ROOT, 'frontend/node_modules/vite/package.json'),
    );
    // `nvm install <major>` installs that major's newest release; Vite accepts it when its range
    // has an open-ended branch at or below that major (e.g. ">=22.12.0").
    const openMajors = [...vite.engines.node.matchAll(/>=\s*(\d+)/g)].map((m) => Number(m[1]));
    expect(openMajors.some((min) => min <= major)).toBe(true);
  });
});

describe('IAM across all stacks', () => {
  it('has no wildcard action anywhere but in the grants aws-cdk-lib gives BucketDeployment (chat page upload)', () => {
    const wildcardActions = iamStatements(templates).filter((s) => s.actions.some((a) => a.includes('*')));
    expect(
      wildcardActions
        .filter((s) => !(s.stack === STACKS.frontend && /^ChatDeploymentRoleDefaultPolicy/.test(s.logicalId)))
        .map((s) => `${s.stack}/${s.logicalId}: ${s.actions}`),
    ).toStrictEqual([]);
    expect(wildcardActions.flatMap((s) => s.actions.filter((a) => a.includes('*'))).sort()).toStrictEqual([
      's3:Abort*',
      's3:DeleteObject*',
      's3:GetBucket*',
      's3:GetBucket*',
      's3:GetObject*',
      's3:GetObject*',
      's3:List*',
      's3:List*',
    ]);
  });

  it('has Allow statements only, on Action and Resource (no NotAction / NotResource)', () => {
    for (const s of iamStatements(templates)) {
      expect(s.effect, `${s.stack}/${s.logicalId}`).toBe('Allow');
      expect(s.raw.NotAction ?? s.raw.NotResource).toBeUndefined();
    }
  });

  it('has a wildcard resource only where AWS requires one, each named', () => {
    const unexplained: string[] = [];
    const used = new Set<string>();
    for (const s of iamStatements(templates)) {
      for (const resource of s.resources.filter((r) => r.includes('*'))) {
        const rule = AWS_REQUIRED_WILDCARDS.find(
          (w) =>
            w.resource.test(resource) &&
            s.actions.every((a) => w.actions.includes(a)) &&
            (w.condition === undefined || JSON.stringify(w.condition) === JSON.stringify(s.condition)),
        );
        if (rule) used.add(rule.name);
        else unexplained.push(`${s.stack}/${s.logicalId} [${s.actions.join(', ')}] on ${resource}`);
      }
    }
    expect(unexplained).toStrictEqual([]);
    // Every named exception is in use: a stale entry would silently widen what passes.
    expect([...used].sort()).toStrictEqual(AWS_REQUIRED_WILDCARDS.map((w) => w.name).sort());
  });

  it('attaches no AWS managed policy except the API Gateway logging role', () => {
    const managed = Object.values(templates).flatMap((t) =>
      resourcesOfType(t, 'AWS::IAM::Role').flatMap(([, role]) =>
        (role.Properties.ManagedPolicyArns ?? []).map(render),
      ),
    );
    expect(managed).toStrictEqual([
      'arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs',
    ]);
  });
});

describe('secrets', () => {
  const SECRET_ENV =
    /^(CDP_API_KEY_ID|CDP_API_KEY_SECRET|CDP_WALLET_SECRET|FACILITATOR_PRIVATE_KEY|AGENT_PRIVATE_KEY|IMAGE_URL_SECRET|OPENAI_API_KEY)$/;

  it('puts no credential variable in any Lambda or runtime environment', () => {
    const names = Object.values(templates).flatMap((t) =>
      Object.values(t.Resources).flatMap((r) =>
        Object.keys(r.Properties?.Environment?.Variables ?? r.Properties?.EnvironmentVariables ?? {}),
      ),
    );
    expect(names.length).toBeGreaterThan(20);
    expect(names.filter((name) => SECRET_ENV.test(name))).toStrictEqual([]);
  });

  it('contains no private key, secret string or AWS access key in any template', () => {
    for (const [stack, t] of Object.entries(templates)) {
      const text = JSON.stringify(t);
      expect(text, stack).not.toMatch(/0x[0-9a-fA-F]{64}/);
      expect(text, stack).not.toMatch(/"SecretString"/);
      expect(text, stack).not.toMatch(/AKIA[0-9A-Z]{16}/);
      expect(text, stack).not.toMatch(/-----BEGIN [A-Z ]*PRIVATE KEY-----/);
    }
  });
});

describe('Lambda bundles', () => {
  const lambdas = () =>
    Object.entries(templates).flatMap(([stack, t]) =>
      resourcesOfType(t, 'AWS::Lambda::Function')
        // Ours; BucketDeployment's own (Python) handler is aws-cdk-lib's.
        .filter(([, resource]) => String(resource.Properties.Runtime).startsWith('nodejs'))
        .map(([id, resource]) => ({ stack, id, resource })),
    );

  it('bundles all five Lambdas into ESM index.mjs files with source maps', () => {
    expect(lambdas()).toHaveLength(5);
    for (const { id, resource } of lambdas()) {
      const dir = lambdaAssetDir(synth.outdir, resource);
      expect(readdirSync(dir).sort(), id).toStrictEqual(['index.mjs', 'index.mjs.map']);
      expect(statSync(join(dir, 'index.mjs')).size, id).toBeGreaterThan(10_000);
    }
  });

  it('loads every bundle in plain Node with its deployed environment and finds a handler function', async () => {
    for (const { id, resource } of lambdas()) {
      const env: Record<string, string> = { AWS_REGION: 'us-east-1' };
      for (const [name, value] of Object.entries<unknown>(resource.Properties.Environment.Variables)) {
        const standIn = typeof value === 'string' ? value : TOKEN_STAND_INS[name];
        if (standIn === undefined) throw new Error(`${id}: no stand-in for deploy-time ${name}`);
        env[name] = standIn;
      }
      const loaded = await loadBundle(join(lambdaAssetDir(synth.outdir, resource), 'index.mjs'), env);
      expect(loaded, id).toStrictEqual({ handler: 'function' });
    }
  });
});
