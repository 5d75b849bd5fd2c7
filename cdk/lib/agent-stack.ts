import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CfnOutput, Duration, RemovalPolicy, Stack, type StackProps, Token, Validations } from 'aws-cdk-lib';
import * as agentcore from 'aws-cdk-lib/aws-bedrockagentcore';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
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
  /**
   * The agent's bundler (packages/agent/build/main.ts). Synth runs it once per process and builds
   * the image from its output directory (server.mjs + Dockerfile): the image holds the bundle only.
   */
  readonly bundler: string;
  /** A directory that already holds the bundle (server.mjs + Dockerfile); synth then skips bundling. */
  readonly bundleDir?: string;
  readonly gatewayUrl: string;
  readonly sellerAddress: string;
}

/** Keys of the CDP credentials secret (JSON); the agent reads it by ARN at start-up. */
export const CDP_SECRET_KEYS = ['CDP_API_KEY_ID', 'CDP_API_KEY_SECRET', 'CDP_WALLET_SECRET'] as const;

/** Files of the image's build context: the bundle's output directory holds exactly these. */
export const AGENT_BUNDLE_FILES = ['Dockerfile', 'server.mjs'] as const;

const bundles = new Map<string, string>();

/**
 * Runs the agent's bundler (esbuild, seconds, no Docker) into a temporary directory and returns
 * it; once per bundler per process, so the many synths of a test run bundle once. Fails synth when
 * the bundler reports a problem (above its size limit, a native addon inside).
 */
export function bundleAgentForImage(bundler: string): string {
  const cached = bundles.get(bundler);
  if (cached && existsSync(join(cached, 'server.mjs'))) return cached;
  if (!existsSync(bundler)) {
    throw new Error(
      `Agent image: the bundler ${bundler} does not exist. Pass -c agentImageUri=<account>.dkr.ecr.<region>.amazonaws.com/<repo>:<tag> (see cdk/README.md).`,
    );
  }
  const outdir = mkdtempSync(join(tmpdir(), 'agentic-payments-agent-bundle-'));
  process.once('exit', () => rmSync(outdir, { recursive: true, force: true }));
  const stdout = execFileSync(process.execPath, ['--import', 'tsx', bundler, '--outdir', outdir, '--json'], {
    cwd: REPO_ROOT,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    maxBuffer: 16 * 1024 * 1024,
  });
  const report = JSON.parse(stdout.trim().split('\n').at(-1) ?? '{}') as { problems?: string[] };
  if (!Array.isArray(report.problems) || report.problems.length > 0) {
    throw new Error(`Agent bundle unfit to ship: ${report.problems?.join('; ') ?? stdout}`);
  }
  bundles.set(bundler, outdir);
  return outdir;
}

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
  readonly walletBudgetTable: dynamodb.Table;

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

    this.walletBudgetTable = this.createWalletBudgetTable();

    this.runtime = new agentcore.Runtime(this, 'Runtime', {
      runtimeName: `${config.stackPrefix.replace(/-/g, '_')}_agent`,
      description: 'x402 payments agent (Strands, Claude Sonnet 4.5) paying for Nova Canvas images',
      agentRuntimeArtifact: this.artifact(config, props),
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
        PAYMENT_SCHEME: config.paymentScheme,
        WALLET_BUDGET_TABLE: this.walletBudgetTable.tableName,
      },
    });
    this.grantWalletBudget();

    this.grantModelInvocation(config.agentModelId);
    // What packages/agent's AgentCore session memory and wallet call (cdk/test/iam-contract.test.ts):
    // append and list events; read the CDP secret's value. grantRead/grantWrite would add six
    // memory actions and DescribeSecret that nothing calls.
    this.memory.grant(
      this.runtime.role,
      'bedrock-agentcore:CreateEvent',
      'bedrock-agentcore:ListEvents',
      'bedrock-agentcore:DeleteEvent',
    );
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
   * The wallet-wide rolling 24-hour budget (packages/agent/src/dynamodb-wallet-budget-store.ts):
   * AgentCore runs one microVM per session, so the sessions spending one wallet share this table;
   * one item per wallet, replaced under a version condition.
   */
  private createWalletBudgetTable(): dynamodb.Table {
    const table = new dynamodb.Table(this, 'WalletBudgetTable', {
      partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      encryption: dynamodb.TableEncryption.AWS_MANAGED,
      // Deleting it would reset what the wallet spent in the last 24 hours.
      removalPolicy: RemovalPolicy.RETAIN,
    });
    new CfnOutput(this, 'WalletBudgetTableName', { value: table.tableName });
    return table;
  }

  /** Exactly the operations the adapter sends (`WALLET_BUDGET_TABLE_ACTIONS`): a consistent read and a conditional put. */
  private grantWalletBudget(): void {
    this.walletBudgetTable.grant(this.runtime.role, 'dynamodb:GetItem', 'dynamodb:PutItem');
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

  private artifact(config: AppConfig, props: AgentStackProps): agentcore.AgentRuntimeArtifact {
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
    // The image's build context is the agent bundle (server.mjs + its Dockerfile), built here with
    // esbuild; synth only stages it into cdk.out, `cdk deploy` builds and pushes the ARM64 image
    // (Docker with buildx), so synth needs no Docker.
    const bundleDir = props.bundleDir ?? bundleAgentForImage(props.bundler);
    return agentcore.AgentRuntimeArtifact.fromAsset(bundleDir, { platform: Platform.LINUX_ARM64 });
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
