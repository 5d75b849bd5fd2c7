import { existsSync } from 'node:fs';
import { relative } from 'node:path';
import { CfnOutput, Duration, Stack, type StackProps, Token, Validations } from 'aws-cdk-lib';
import * as agentcore from 'aws-cdk-lib/aws-bedrockagentcore';
import * as ecr from 'aws-cdk-lib/aws-ecr';
import { Platform } from 'aws-cdk-lib/aws-ecr-assets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type { Construct } from 'constructs';
import { type AppConfig, CLOUD_NETWORKS } from './config.ts';
import { nagPseudo } from './nag.ts';
import { REPO_ROOT } from './paths.ts';

export interface AgentStackProps extends StackProps {
  readonly config: AppConfig;
  /** packages/agent/Dockerfile; its build context is the repository root (workspace packages). */
  readonly dockerfile: string;
  readonly gatewayUrl: string;
  readonly sellerAddress: string;
}

/** Keys of the CDP credentials secret (JSON); the agent reads it by ARN at start-up. */
export const CDP_SECRET_KEYS = ['CDP_API_KEY_ID', 'CDP_API_KEY_SECRET', 'CDP_WALLET_SECRET'] as const;

/** What the agent image build context must leave out (dependencies are installed inside the image). */
export const AGENT_IMAGE_EXCLUDES = [
  '**/node_modules',
  '.git',
  'cdk/cdk.out',
  '**/cdk.out',
  '.data',
  '**/.data',
  'frontend/dist',
  'test-artifacts',
  '**/*.test.ts',
  '**/coverage',
];

/**
 * Geography prefixes of Bedrock's cross-Region (system-defined) inference profiles and the source
 * Regions they can be called from (the profile exists only in its geography's Regions; `global`
 * everywhere). https://docs.aws.amazon.com/bedrock/latest/userguide/inference-profiles-support.html
 */
const PROFILE_GEOGRAPHIES: Record<string, RegExp> = {
  us: /^us-(?!gov-)/,
  'us-gov': /^us-gov-/,
  eu: /^eu-/,
  apac: /^ap-/,
  jp: /^ap-northeast-/,
  au: /^ap-southeast-(2|4)$/,
  global: /./,
};

/**
 * Splits a Bedrock model id into its inference-profile geography and foundation model id
 * (`us.anthropic.claude-sonnet-4-5-20250929-v1:0` → `us`, `anthropic.claude-sonnet-4-5-20250929-v1:0`);
 * a plain foundation model id (on-demand in one Region) has no geography.
 */
export function parseModelId(modelId: string): { geography?: string; foundationModelId: string } {
  const match = /^([a-z-]+)\.(.+)$/.exec(modelId);
  const geography = match?.[1];
  if (geography === undefined || !(geography in PROFILE_GEOGRAPHIES) || match?.[2] === undefined) {
    return { foundationModelId: modelId };
  }
  return { geography, foundationModelId: match[2] };
}

/**
 * The agent: an AgentCore Runtime running packages/agent's ARM64 container, AgentCore Memory for
 * sessions, and the CDP wallet credentials in Secrets Manager (the runtime receives the secret's
 * ARN, never its value). The execution role may call Claude through one inference profile and the
 * foundation models it routes to, use this memory, read this secret, and nothing else of ours.
 */
export class AgentStack extends Stack {
  readonly runtime: agentcore.Runtime;
  readonly memory: agentcore.Memory;
  readonly cdpSecret: secretsmanager.Secret;

  constructor(scope: Construct, id: string, props: AgentStackProps) {
    super(scope, id, props);
    const { config } = props;
    const network = CLOUD_NETWORKS[config.network];

    this.cdpSecret = new secretsmanager.Secret(this, 'CdpCredentials', {
      description: `CDP API key and wallet secret for the agent's wallet: JSON with ${CDP_SECRET_KEYS.join(', ')}. Set after deploy.`,
      // Starts as the right JSON shape with empty values, so the agent reports exactly which
      // credential is missing until the operator puts the real ones (no value is ever in the template).
      generateSecretString: {
        secretStringTemplate: JSON.stringify(Object.fromEntries(CDP_SECRET_KEYS.map((key) => [key, '']))),
        generateStringKey: 'placeholder',
      },
    });
    Validations.of(this.cdpSecret).acknowledge({
      id: 'AwsSolutions-SMG4',
      reason:
        'CDP API keys and the wallet secret are issued and rotated in the Coinbase Developer Platform portal; AWS cannot rotate them. The README documents rotating by put-secret-value.',
    });

    this.memory = new agentcore.Memory(this, 'Memory', {
      memoryName: `${config.stackPrefix.replace(/-/g, '_')}_sessions`,
      description: 'Agent session memory: conversation, authorizations, images and payment history',
      expirationDuration: Duration.days(30),
    });

    this.runtime = new agentcore.Runtime(this, 'Runtime', {
      runtimeName: `${config.stackPrefix.replace(/-/g, '_')}_agent`,
      description: 'x402 payments agent (Strands, Claude Sonnet 4.5) paying for Nova Canvas images',
      agentRuntimeArtifact: this.artifact(config, props.dockerfile),
      tracingEnabled: true,
      lifecycleConfiguration: {
        idleRuntimeSessionTimeout: Duration.minutes(15),
        maxLifetime: Duration.hours(8),
      },
      environmentVariables: {
        AGENT_MODEL: 'bedrock',
        BEDROCK_MODEL_ID: config.agentModelId,
        IMAGE_ANALYZER: 'bedrock',
        AWS_REGION: this.region,
        GATEWAY_URL: props.gatewayUrl,
        NETWORK: config.network,
        RPC_URL: config.facilitatorRpcUrl ?? network.rpcUrl,
        EXPLORER_URL: network.explorerUrl,
        SELLER_ADDRESS: props.sellerAddress,
        MEMORY_ID: this.memory.memoryId,
        CDP_SECRET_ARN: this.cdpSecret.secretArn,
        CONSENT_MODE: config.consentMode,
        MAX_PAYMENT_USDC: config.maxPaymentUsdc,
        SESSION_BUDGET_USDC: config.sessionBudgetUsdc,
      },
    });

    this.grantModelInvocation(config.agentModelId);
    // What packages/agent's AgentCore session memory and wallet call (cdk/test/iam-contract.test.ts):
    // append and list events; read the CDP secret's value. grantRead/grantWrite would add six
    // memory actions and DescribeSecret that nothing calls.
    this.memory.grant(this.runtime.role, 'bedrock-agentcore:CreateEvent', 'bedrock-agentcore:ListEvents');
    this.runtime.addToRolePolicy(
      new iam.PolicyStatement({
        sid: 'ReadCdpCredentials',
        actions: ['secretsmanager:GetSecretValue'],
        resources: [this.cdpSecret.secretArn],
      }),
    );

    this.acknowledgeRuntimeWildcards();

    new CfnOutput(this, 'AgentRuntimeArn', { value: this.runtime.agentRuntimeArn });
    new CfnOutput(this, 'MemoryId', { value: this.memory.memoryId });
    new CfnOutput(this, 'CdpSecretArn', {
      value: this.cdpSecret.secretArn,
      description: `Put the CDP credentials here: JSON with ${CDP_SECRET_KEYS.join(', ')}`,
    });
  }

  /**
   * Claude through a cross-Region inference profile needs bedrock:InvokeModel* on the profile (in
   * this Region) and on the foundation model in every destination Region the profile routes to,
   * which AWS defines per profile and extends over time ("Geographic cross-Region inference", Bedrock
   * user guide). So the foundation model is allowed in any Region, but only when the request comes
   * through this profile (`bedrock:InferenceProfileArn`): the profile's own Regions, whatever they are.
   * A plain foundation model id is allowed in this Region only.
   */
  private grantModelInvocation(modelId: string): void {
    const invokeActions = ['bedrock:InvokeModel', 'bedrock:InvokeModelWithResponseStream'];
    const { geography, foundationModelId } = parseModelId(modelId);
    if (geography === undefined) {
      this.runtime.addToRolePolicy(
        new iam.PolicyStatement({
          sid: 'InvokeClaudeModel',
          actions: invokeActions,
          resources: [`arn:${this.partition}:bedrock:${this.region}::foundation-model/${foundationModelId}`],
        }),
      );
      return;
    }
    const sourceRegions = PROFILE_GEOGRAPHIES[geography];
    if (!Token.isUnresolved(this.region) && sourceRegions && !sourceRegions.test(this.region)) {
      throw new Error(
        `agentModelId ${modelId} is a ${geography} inference profile, which cannot be called from ${this.region}; use the profile of this Region's geography (or global.)`,
      );
    }
    const profileArn = `arn:${this.partition}:bedrock:${this.region}:${this.account}:inference-profile/${modelId}`;
    this.runtime.addToRolePolicy(
      new iam.PolicyStatement({
        sid: 'InvokeClaudeProfile',
        actions: invokeActions,
        resources: [profileArn],
      }),
    );
    const routedModels = `arn:${this.partition}:bedrock:*::foundation-model/${foundationModelId}`;
    this.runtime.addToRolePolicy(
      new iam.PolicyStatement({
        sid: 'InvokeClaudeThroughProfile',
        actions: invokeActions,
        resources: [routedModels],
        conditions: { StringEquals: { 'bedrock:InferenceProfileArn': profileArn } },
      }),
    );
    const policy = this.runtime.role.node.tryFindChild('DefaultPolicy');
    if (policy) {
      Validations.of(policy).acknowledge({
        id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:bedrock:*::foundation-model/${foundationModelId}]`,
        reason:
          'The inference profile routes to this one model in Regions AWS defines per profile; the statement holds only for requests through this profile (bedrock:InferenceProfileArn condition).',
      });
    }
  }

  private artifact(config: AppConfig, dockerfile: string): agentcore.AgentRuntimeArtifact {
    if (config.agentImageUri) {
      // fromImageUri grants nothing: reference the repository (in the image's account and region)
      // so the role may pull from it and from nothing else.
      const match =
        /^(\d{12})\.dkr\.ecr\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?\/([^:@]+)(?::([\w.-]+))?$/.exec(
          config.agentImageUri,
        );
      if (!match) throw new Error(`agentImageUri: not an ECR image URI: ${config.agentImageUri}`);
      const [, account, region, repositoryName = '', tag = 'latest'] = match;
      const repository = ecr.Repository.fromRepositoryAttributes(this, 'AgentImageRepository', {
        repositoryName,
        repositoryArn: this.formatArn({
          service: 'ecr',
          account,
          region,
          resource: 'repository',
          resourceName: repositoryName,
        }),
      });
      return agentcore.AgentRuntimeArtifact.fromEcrRepository(repository, tag);
    }
    if (!existsSync(dockerfile)) {
      throw new Error(
        `Agent image: ${dockerfile} does not exist. Build it first or pass -c agentImageUri=<account>.dkr.ecr.<region>.amazonaws.com/<repo>:<tag> (see cdk/README.md).`,
      );
    }
    // Synth only stages the build context into cdk.out; `cdk deploy` builds and pushes the image
    // (Docker with buildx for linux/arm64), so synth needs no Docker.
    return agentcore.AgentRuntimeArtifact.fromAsset(REPO_ROOT, {
      file: relative(REPO_ROOT, dockerfile),
      platform: Platform.LINUX_ARM64,
      exclude: AGENT_IMAGE_EXCLUDES,
    });
  }

  /** The AgentCore L2 grants what AWS requires of every runtime; name each wildcard it contains. */
  private acknowledgeRuntimeWildcards(): void {
    const policy = this.runtime.role.node.tryFindChild('DefaultPolicy');
    if (!policy) return;
    const { region, account } = nagPseudo(this);
    const reasons: [string, string][] = [
      [
        'Resource::*',
        'X-Ray trace writes, CloudWatch PutMetricData (conditioned on the bedrock-agentcore namespace) and ecr:GetAuthorizationToken support no resource-level permissions.',
      ],
      [
        `Resource::arn:<AWS::Partition>:logs:${region}:${account}:log-group:/aws/bedrock-agentcore/runtimes/*`,
        'AgentCore names the runtime log group after the runtime id it assigns at creation.',
      ],
      [
        `Resource::arn:<AWS::Partition>:logs:${region}:${account}:log-group:/aws/bedrock-agentcore/runtimes/*:log-stream:*`,
        'AgentCore creates one log stream per runtime session.',
      ],
      [
        `Resource::arn:<AWS::Partition>:logs:${region}:${account}:log-group:*`,
        'logs:DescribeLogGroups is a list action that AWS authorizes on log-group:* only.',
      ],
      [
        `Resource::arn:<AWS::Partition>:bedrock-agentcore:${region}:${account}:workload-identity-directory/default/workload-identity/*`,
        'The runtime workload identity is created by AgentCore with a generated name.',
      ],
    ];
    for (const [finding, reason] of reasons) {
      Validations.of(policy).acknowledge({ id: `AwsSolutions-IAM5[${finding}]`, reason });
    }
  }
}
