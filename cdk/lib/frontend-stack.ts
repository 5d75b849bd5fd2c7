import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import {
  CfnOutput,
  DockerImage,
  Duration,
  RemovalPolicy,
  Stack,
  type StackProps,
  Validations,
} from 'aws-cdk-lib';
import * as cloudfront from 'aws-cdk-lib/aws-cloudfront';
import * as origins from 'aws-cdk-lib/aws-cloudfront-origins';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as s3deploy from 'aws-cdk-lib/aws-s3-deployment';
import type { Construct } from 'constructs';
import { type AppConfig, CLOUD_NETWORKS } from './config.ts';
import { nagPseudo } from './nag.ts';

export interface FrontendStackProps extends StackProps {
  readonly config: AppConfig;
  /** The chat page's package (frontend/): built with Vite at synth, its dist/ is the site. */
  readonly frontendDir: string;
  readonly webSocketUrl: string;
  readonly gatewayUrl: string;
  readonly agentRuntimeArn: string;
}

/** The runtime config the page reads at load (`/config.json`), as the local WebSocket host serves it. */
export const RUNTIME_CONFIG_FILE = 'config.json';

/**
 * Builds the chat page with the package's own Vite (offline, seconds) into `outputDir`. No
 * `VITE_WS_URL`: the deployed page takes its WebSocket URL from `/config.json`.
 */
export function buildChatPage(frontendDir: string, outputDir: string): void {
  const vite = join(frontendDir, 'node_modules', 'vite', 'bin', 'vite.js');
  const { VITE_WS_URL: _ignored, ...env } = process.env;
  execFileSync(
    process.execPath,
    [vite, 'build', '--outDir', outputDir, '--emptyOutDir', '--logLevel', 'warn'],
    {
      cwd: frontendDir,
      env,
      stdio: ['ignore', 'ignore', 'inherit'],
    },
  );
}

/**
 * The chat page on S3 + CloudFront, deployed by `cdk deploy` with no manual step: synth builds
 * `frontend/` with Vite, and a BucketDeployment uploads the build together with `config.json`,
 * which CloudFormation writes from this deployment's stack outputs (the WebSocket URL is only
 * known at deploy time), then invalidates the distribution. The bucket is private and read only
 * by this distribution (origin access control).
 */
export class FrontendStack extends Stack {
  readonly siteBucket: s3.Bucket;
  readonly distribution: cloudfront.Distribution;
  readonly deployment: s3deploy.BucketDeployment;
  readonly chatUrl: string;

  constructor(scope: Construct, id: string, props: FrontendStackProps) {
    super(scope, id, props);
    const network = CLOUD_NETWORKS[props.config.network];

    const logsBucket = new s3.Bucket(this, 'ChatLogs', {
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      encryption: s3.BucketEncryption.S3_MANAGED,
      // CloudFront standard logging and S3 server access logging write with ACLs.
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_PREFERRED,
      lifecycleRules: [{ id: 'expire-access-logs', expiration: Duration.days(90) }],
      removalPolicy: RemovalPolicy.RETAIN,
    });
    Validations.of(logsBucket).acknowledge({
      id: 'AwsSolutions-S1',
      reason:
        'This bucket is the access log destination of the site bucket and the distribution; logging it into itself would loop.',
    });

    this.siteBucket = new s3.Bucket(this, 'ChatSite', {
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      encryption: s3.BucketEncryption.S3_MANAGED,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      serverAccessLogsBucket: logsBucket,
      serverAccessLogsPrefix: 'site/',
      removalPolicy: RemovalPolicy.RETAIN,
    });

    this.distribution = new cloudfront.Distribution(this, 'ChatDistribution', {
      comment: `${props.config.stackPrefix} chat page`,
      defaultRootObject: 'index.html',
      defaultBehavior: {
        origin: origins.S3BucketOrigin.withOriginAccessControl(this.siteBucket),
        viewerProtocolPolicy: cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
        cachePolicy: cloudfront.CachePolicy.CACHING_OPTIMIZED,
        responseHeadersPolicy: cloudfront.ResponseHeadersPolicy.SECURITY_HEADERS,
      },
      // Single-page app: a path that is not a file (S3 answers 403 through OAC) serves index.html.
      errorResponses: [403, 404].map((httpStatus) => ({
        httpStatus,
        responseHttpStatus: 200,
        responsePagePath: '/index.html',
        ttl: Duration.seconds(0),
      })),
      enableLogging: true,
      logBucket: logsBucket,
      logFilePrefix: 'cloudfront/',
    });
    Validations.of(this.distribution.node.defaultChild as cloudfront.CfnDistribution).acknowledge(
      {
        id: 'AwsSolutions-CFR1',
        reason:
          'The chat page is a public demo with no regional restriction; the spending limits live in the agent, not in geography.',
      },
      {
        id: 'AwsSolutions-CFR2',
        reason:
          'The distribution serves only a static page; the APIs behind it are throttled by API Gateway. Attach a WAF web ACL for production traffic.',
      },
      {
        id: 'AwsSolutions-CFR4',
        reason:
          'The default *.cloudfront.net certificate does not allow choosing the minimum viewer TLS version; a custom domain with its own certificate would.',
      },
    );

    // The deployment's handler gets a role of its own with inline grants only (no managed policy).
    const deploymentRole = new iam.Role(this, 'ChatDeploymentRole', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: 'Uploads the chat page and its config.json, then invalidates the distribution',
    });
    const deploymentLogs = new logs.LogGroup(this, 'ChatDeploymentLogs', {
      retention: props.config.logRetentionDays as logs.RetentionDays,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    deploymentLogs.grantWrite(deploymentRole);

    this.deployment = new s3deploy.BucketDeployment(this, 'ChatDeployment', {
      sources: [
        s3deploy.Source.asset(props.frontendDir, {
          // Synth builds the page with the local Vite (no Docker): the asset is the built dist/.
          bundling: {
            image: DockerImage.fromRegistry('public.ecr.aws/docker/library/node:22-slim'),
            local: {
              tryBundle(outputDir: string) {
                buildChatPage(props.frontendDir, outputDir);
                return true;
              },
            },
          },
          exclude: ['node_modules', 'dist'],
        }),
        // Written by the deployment with the deploy-time values of these stack outputs.
        s3deploy.Source.jsonData(RUNTIME_CONFIG_FILE, {
          wsUrl: props.webSocketUrl,
          explorerUrl: network.explorerUrl,
        }),
      ],
      destinationBucket: this.siteBucket,
      distribution: this.distribution,
      distributionPaths: ['/*'],
      role: deploymentRole,
      logGroup: deploymentLogs,
      memoryLimit: 512,
    });
    this.acknowledgeDeploymentWildcards(deploymentRole);
    for (const child of this.node.children) {
      if (!child.node.id.startsWith('Custom::CDKBucketDeployment')) continue;
      Validations.of(child).acknowledge({
        id: 'AwsSolutions-L1',
        reason:
          "BucketDeployment's handler (Python with the AWS CLI layer) is a runtime aws-cdk-lib pins; it moves with the aws-cdk-lib version.",
      });
    }

    this.chatUrl = `https://${this.distribution.distributionDomainName}`;
    new CfnOutput(this, 'ChatUrl', {
      value: this.chatUrl,
      description: 'The chat page, deployed by cdk deploy',
    });
    new CfnOutput(this, 'ChatBucketName', { value: this.siteBucket.bucketName });
    new CfnOutput(this, 'ChatDistributionId', { value: this.distribution.distributionId });
    new CfnOutput(this, 'WebSocketUrl', { value: props.webSocketUrl });
    new CfnOutput(this, 'GatewayUrl', { value: props.gatewayUrl });
    new CfnOutput(this, 'AgentRuntimeArn', { value: props.agentRuntimeArn });
  }

  /** What CDK's BucketDeployment grants its handler, each wildcard named. */
  private acknowledgeDeploymentWildcards(role: iam.Role): void {
    const policy = role.node.tryFindChild('DefaultPolicy');
    if (!policy) return;
    const { region, account } = nagPseudo(this);
    Validations.of(policy).acknowledge(
      {
        id: 'AwsSolutions-IAM5[Action::s3:GetObject*]',
        reason:
          'BucketDeployment reads the staged page from the CDK asset bucket with grantRead (object reads only).',
      },
      {
        id: 'AwsSolutions-IAM5[Action::s3:GetBucket*]',
        reason:
          'BucketDeployment lists and reads the asset and site buckets with grantRead / grantReadWrite.',
      },
      {
        id: 'AwsSolutions-IAM5[Action::s3:List*]',
        reason: 'BucketDeployment syncs (aws s3 sync) and must list the source and destination buckets.',
      },
      {
        id: 'AwsSolutions-IAM5[Action::s3:DeleteObject*]',
        reason: 'BucketDeployment replaces the previous page in the site bucket (prune) on every deploy.',
      },
      {
        id: 'AwsSolutions-IAM5[Action::s3:Abort*]',
        reason: 'BucketDeployment uploads with multipart and may abort an upload it started.',
      },
      {
        id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:s3:::cdk-hnb659fds-assets-${account}-${region}/*]`,
        reason:
          'The staged page is an object of the CDK bootstrap asset bucket whose key is its content hash.',
      },
      {
        id: `AwsSolutions-IAM5[Resource::<${this.getLogicalId(this.siteBucket.node.defaultChild as s3.CfnBucket)}.Arn>/*]`,
        reason: 'The deployment writes every object of the site bucket (the page is the whole bucket).',
      },
      {
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason:
          'cloudfront:CreateInvalidation / GetInvalidation: BucketDeployment grants them on * (the distribution id is only known at deploy time).',
      },
    );
  }
}
