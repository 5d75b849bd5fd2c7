import { CfnOutput, Duration, RemovalPolicy, Stack, type StackProps, Validations } from 'aws-cdk-lib';
import * as apigateway from 'aws-cdk-lib/aws-apigateway';
import * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import { WebSocketLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import type { Construct } from 'constructs';
import { apiAccessLog } from './api-access-log.ts';
import type { AppConfig } from './config.ts';
import { nagGetAtt, nagPseudo, nagRef } from './nag.ts';
import { NodeLambda } from './node-lambda.ts';
import { SecureBucket } from './secure-bucket.ts';

export interface RealtimeStackProps extends StackProps {
  readonly config: AppConfig;
  readonly entries: {
    readonly connect: string;
    readonly disconnect: string;
    readonly default: string;
    /** The turn worker's entry (packages/realtime/src/handlers/turn-worker.ts). */
    readonly worker: string;
  };
  /** The AgentCore runtime the turn worker invokes. */
  readonly agentRuntimeArn: string;
}

/** Key and TTL attribute of the connections table, shared with packages/realtime. */
export const CONNECTIONS_TABLE_KEYS = { partitionKey: 'connectionId', ttl: 'ttl' } as const;
/** Images are uploaded under this prefix (then `<session>/`), the only prefix the handler may touch. */
export const IMAGES_PREFIX = 'sessions/';
export const WEBSOCKET_STAGE = 'prod';
/**
 * A turn with a paid image (estimate, 402, sign, verify, generate, settle) with Claude and Nova
 * Canvas takes 30-60 s, beyond API Gateway's 29 s integration timeout: the worker that runs it is
 * invoked asynchronously and may take minutes.
 */
const TURN_WORKER_TIMEOUT = Duration.minutes(10);
/** Below the worker's timeout, so a slow agent ends with an error frame, not a killed Lambda. */
const AGENT_TIMEOUT = TURN_WORKER_TIMEOUT.minus(Duration.seconds(30));
/** How long a turn holds its session: longer than the worker can run, so turns never overlap. */
const TURN_LEASE = TURN_WORKER_TIMEOUT.plus(Duration.minutes(1));

/**
 * The chat's WebSocket API: $connect / $disconnect keep the connections table; $default accepts a
 * prompt (one in-flight turn per session) and invokes the turn worker asynchronously, which calls
 * the AgentCore runtime and posts progress and the answer back; generated images go to a private
 * bucket and reach the browser as presigned URLs.
 */
export class RealtimeStack extends Stack {
  readonly api: apigwv2.WebSocketApi;
  readonly stage: apigwv2.WebSocketStage;
  readonly connectionsTable: dynamodb.Table;
  readonly images: SecureBucket;
  readonly webSocketUrl: string;

  constructor(scope: Construct, id: string, props: RealtimeStackProps) {
    super(scope, id, props);
    const { config } = props;

    this.connectionsTable = new dynamodb.Table(this, 'ConnectionsTable', {
      partitionKey: { name: CONNECTIONS_TABLE_KEYS.partitionKey, type: dynamodb.AttributeType.STRING },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      timeToLiveAttribute: CONNECTIONS_TABLE_KEYS.ttl,
      encryption: dynamodb.TableEncryption.AWS_MANAGED,
      // Connection ids are ephemeral; nothing to keep.
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.images = new SecureBucket(this, 'Images', {
      expiryDays: config.imageExpiryDays,
      expiryPrefix: IMAGES_PREFIX,
    });

    const common = { logRetentionDays: config.logRetentionDays };
    const tableEnv = { CONNECTIONS_TABLE: this.connectionsTable.tableName };
    const connect = new NodeLambda(this, 'Connect', {
      ...common,
      entry: props.entries.connect,
      description: 'WebSocket $connect: records the connection with a TTL',
      memorySize: 256,
      timeout: Duration.seconds(10),
      environment: tableEnv,
    });
    const disconnect = new NodeLambda(this, 'Disconnect', {
      ...common,
      entry: props.entries.disconnect,
      description: 'WebSocket $disconnect: forgets the connection',
      memorySize: 256,
      timeout: Duration.seconds(10),
      environment: tableEnv,
    });
    const worker = new NodeLambda(this, 'TurnWorker', {
      ...common,
      entry: props.entries.worker,
      description:
        'Chat turn worker (invoked asynchronously by $default): one turn through the AgentCore runtime',
      memorySize: 512,
      timeout: TURN_WORKER_TIMEOUT,
      environment: {
        ...tableEnv,
        TURN_LEASE_SECONDS: String(TURN_LEASE.toSeconds()),
        IMAGES_BUCKET: this.images.bucket.bucketName,
        AGENT_RUNTIME_ARN: props.agentRuntimeArn,
        AGENT_RUNTIME_QUALIFIER: 'DEFAULT',
        AGENT_TIMEOUT_MS: String(AGENT_TIMEOUT.toMilliseconds()),
      },
    });
    // A retried turn could pay twice: no retries (the worker also never throws, and its conditional
    // start ignores duplicate deliveries). A turn that cannot start within 5 minutes is dropped.
    new lambda.EventInvokeConfig(this, 'TurnWorkerAsyncInvoke', {
      function: worker.function,
      retryAttempts: 0,
      maxEventAge: Duration.minutes(5),
    });

    const defaultRoute = new NodeLambda(this, 'DefaultRoute', {
      ...common,
      entry: props.entries.default,
      description: 'WebSocket $default: accepts a chat turn and starts the turn worker',
      memorySize: 256,
      // Answers in milliseconds; well inside API Gateway's 29 s integration timeout.
      timeout: Duration.seconds(10),
      environment: {
        ...tableEnv,
        TURN_WORKER_FUNCTION: worker.function.functionName,
        TURN_LEASE_SECONDS: String(TURN_LEASE.toSeconds()),
      },
    });

    this.connectionsTable.grant(connect.role, 'dynamodb:PutItem');
    this.connectionsTable.grant(disconnect.role, 'dynamodb:DeleteItem');
    // GetItem: the connection; PutItem (conditional): the session's turn record; DeleteItem: its release.
    this.connectionsTable.grant(
      defaultRoute.role,
      'dynamodb:GetItem',
      'dynamodb:PutItem',
      'dynamodb:DeleteItem',
    );
    // UpdateItem (conditional): queued -> running; DeleteItem: the release.
    this.connectionsTable.grant(worker.role, 'dynamodb:UpdateItem', 'dynamodb:DeleteItem');

    // The unqualified function only (no versions or aliases: `$default` invokes it by name).
    defaultRoute.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'InvokeTheTurnWorker',
        actions: ['lambda:InvokeFunction'],
        resources: [worker.function.functionArn],
      }),
    );
    // Upload generated images and presign GETs for them, under the sessions/ prefix only.
    worker.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'SessionImagesOnly',
        actions: ['s3:PutObject', 's3:GetObject'],
        resources: [this.images.bucket.arnForObjects(`${IMAGES_PREFIX}*`)],
      }),
    );
    // InvokeAgentRuntime on this runtime and its DEFAULT endpoint (the qualifier the worker uses).
    worker.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'InvokeThisAgentRuntime',
        actions: ['bedrock-agentcore:InvokeAgentRuntime'],
        resources: [props.agentRuntimeArn, `${props.agentRuntimeArn}/runtime-endpoint/DEFAULT`],
      }),
    );

    const accessLog = apiAccessLog(this, 'ApiAccessLogs', 'websocket', config.logRetentionDays);
    this.api = new apigwv2.WebSocketApi(this, 'Api', {
      description: 'Agentic payments chat (WebSocket)',
      routeSelectionExpression: '$request.body.action',
      connectRouteOptions: {
        integration: new WebSocketLambdaIntegration('ConnectIntegration', connect.function),
      },
      disconnectRouteOptions: {
        integration: new WebSocketLambdaIntegration('DisconnectIntegration', disconnect.function),
      },
      defaultRouteOptions: {
        integration: new WebSocketLambdaIntegration('DefaultIntegration', defaultRoute.function),
      },
    });
    this.stage = new apigwv2.WebSocketStage(this, 'Stage', {
      webSocketApi: this.api,
      stageName: WEBSOCKET_STAGE,
      autoDeploy: true,
      accessLogSettings: accessLog.settings,
      // Each chat turn can spend the agent's USDC: keep anonymous traffic bounded.
      throttle: { rateLimit: config.webSocketRateLimit, burstLimit: config.webSocketBurstLimit },
    });

    // PostToConnection on this API's stage only; the connection id is dynamic. `$default` sends
    // `processing` and refusals, the worker `progress`, `complete` and errors.
    for (const role of [defaultRoute.role, worker.role]) {
      role.addToPrincipalPolicy(
        new iam.PolicyStatement({
          sid: 'ManageThisApiConnections',
          actions: ['execute-api:ManageConnections'],
          resources: [
            this.formatArn({
              service: 'execute-api',
              resource: this.api.apiId,
              resourceName: `${WEBSOCKET_STAGE}/POST/@connections/*`,
            }),
          ],
        }),
      );
    }

    for (const route of ['$connect', '$disconnect', '$default']) {
      const child = this.api.node.tryFindChild(`${route}-Route`);
      if (child) {
        Validations.of(child).acknowledge({
          id: 'AwsSolutions-APIG4',
          reason:
            'The chat is anonymous as in the sample: spending is bounded below the model by the per-payment cap and per-session budget, and the stage is throttled.',
        });
      }
    }

    this.acknowledgeScopedWildcards(defaultRoute, false);
    this.acknowledgeScopedWildcards(worker, true);

    if (config.apiGatewayAccountRole) this.addApiGatewayAccountRole();

    this.webSocketUrl = this.stage.url;
    new CfnOutput(this, 'WebSocketUrl', {
      value: this.webSocketUrl,
      description: 'wss:// URL for the chat page',
    });
    new CfnOutput(this, 'ImagesBucketName', { value: this.images.bucket.bucketName });
    new CfnOutput(this, 'ConnectionsTableName', { value: this.connectionsTable.tableName });
  }

  /** The only wildcards: object keys under one prefix (worker), connection ids of one API (both). */
  private acknowledgeScopedWildcards(fn: NodeLambda, images: boolean): void {
    const policy = fn.role.node.tryFindChild('DefaultPolicy');
    if (!policy) return;
    const { region, account } = nagPseudo(this);
    const bucket = this.images.bucket.node.defaultChild as s3.CfnBucket;
    const api = this.api.node.defaultChild as apigwv2.CfnApi;
    const apiArn = `arn:<AWS::Partition>:execute-api:${region}:${account}:${nagRef(this, api)}/${WEBSOCKET_STAGE}`;
    const findings: [string, string][] = [
      ...(images
        ? ([
            [
              `${nagGetAtt(this, bucket, 'Arn')}/${IMAGES_PREFIX}*`,
              'Image keys are generated per session and image; access is limited to the sessions/ prefix of this bucket.',
            ],
          ] as [string, string][])
        : []),
      [
        `${apiArn}/POST/@connections/*`,
        'PostToConnection targets connection ids assigned at $connect; scoped to this API and stage.',
      ],
    ];
    for (const [resource, reason] of findings) {
      Validations.of(policy).acknowledge({ id: `AwsSolutions-IAM5[Resource::${resource}]`, reason });
    }
  }

  /** WebSocket access logging needs the account-level API Gateway CloudWatch role. */
  private addApiGatewayAccountRole(): void {
    const role = new iam.Role(this, 'ApiGatewayCloudWatchRole', {
      assumedBy: new iam.ServicePrincipal('apigateway.amazonaws.com'),
      managedPolicies: [
        iam.ManagedPolicy.fromAwsManagedPolicyName('service-role/AmazonAPIGatewayPushToCloudWatchLogs'),
      ],
    });
    Validations.of(role).acknowledge({
      id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs]',
      reason:
        'The AWS-maintained policy for the account-level API Gateway logging role; API Gateway writes to log groups it names itself.',
    });
    const account = new apigateway.CfnAccount(this, 'ApiGatewayAccount', { cloudWatchRoleArn: role.roleArn });
    // The stage can enable access logging only once the account has the role.
    this.stage.node.addDependency(account);
  }
}
