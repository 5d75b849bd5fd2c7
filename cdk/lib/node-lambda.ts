import { delimiter } from 'node:path';
import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { CDK_DIR, REPO_ROOT } from './paths.ts';

export interface NodeLambdaProps {
  /** TypeScript entry file exporting `handler`. */
  readonly entry: string;
  readonly description: string;
  readonly environment?: Record<string, string>;
  readonly timeout?: Duration;
  readonly memorySize?: number;
  readonly logRetentionDays: number;
  /** Caps concurrent instances (e.g. one settler nonce sequence); unreserved when absent. */
  readonly reservedConcurrentExecutions?: number;
}

/**
 * One Lambda the way every function in this app is built: ESM bundle by the local esbuild (no
 * Docker), ARM64, Node 22, its own log group with retention, X-Ray active tracing, and a role with
 * no managed policies — only what the stack grants it, plus writing to its own log group.
 */
export class NodeLambda extends Construct {
  readonly function: NodejsFunction;
  readonly role: iam.Role;
  readonly logGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: NodeLambdaProps) {
    super(scope, id);
    this.logGroup = new logs.LogGroup(this, 'Logs', {
      retention: props.logRetentionDays as logs.RetentionDays,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `${props.description} (execution role)`,
    });
    // Scoped to this function's log group (its ARN already covers the log streams inside it).
    this.logGroup.grantWrite(this.role);

    this.function = new NodejsFunction(this, 'Function', {
      entry: props.entry,
      handler: 'handler',
      description: props.description,
      runtime: lambda.Runtime.NODEJS_22_X,
      architecture: lambda.Architecture.ARM_64,
      memorySize: props.memorySize ?? 512,
      timeout: props.timeout ?? Duration.seconds(30),
      role: this.role,
      reservedConcurrentExecutions: props.reservedConcurrentExecutions,
      logGroup: this.logGroup,
      loggingFormat: lambda.LoggingFormat.JSON,
      tracing: lambda.Tracing.ACTIVE,
      environment: { NODE_OPTIONS: '--enable-source-maps', ...props.environment },
      projectRoot: REPO_ROOT,
      depsLockFilePath: `${REPO_ROOT}/pnpm-lock.yaml`,
      bundling: {
        forceDockerBundling: false,
        // The repo root has no esbuild of its own: `pnpm exec esbuild` there must find cdk's pinned one.
        environment: { PATH: `${CDK_DIR}/node_modules/.bin${delimiter}${process.env.PATH ?? ''}` },
        format: OutputFormat.ESM,
        target: 'node22',
        minify: true,
        sourceMap: true,
        // Bundle the AWS SDK: the packages use clients (bedrock-agentcore) the runtime may lack,
        // and a pinned SDK behaves the same in tests and in Lambda.
        bundleAwsSDK: true,
        mainFields: ['module', 'main'],
        // CommonJS dependencies inside an ESM bundle still call require().
        banner: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);",
      },
    });

    Validations.of(this.function).acknowledge({
      id: 'AwsSolutions-L1',
      reason:
        'Node.js 22 is the runtime issue 7 pins for every Lambda (the packages are built and tested for it); move all functions together when upgrading.',
    });

    // AWS requires Resource "*" for X-Ray: PutTraceSegments / PutTelemetryRecords have no resource ARN.
    const policy = this.role.node.tryFindChild('DefaultPolicy');
    if (policy) {
      Validations.of(policy).acknowledge({
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason:
          'X-Ray PutTraceSegments/PutTelemetryRecords support no resource-level permissions (AWS requires "*").',
      });
    }
  }
}
