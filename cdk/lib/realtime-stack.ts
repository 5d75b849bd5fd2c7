import { CfnOutput, Duration, RemovalPolicy, Stack, type StackProps, Validations } from 'aws-cdk-lib';
import * as apigateway from 'aws-cdk-lib/aws-apigateway';
import * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import { WebSocketLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import type { Construct } from 'constructs';
import { apiAccessLog } from './api-access-log.ts';
import type { AppConfig } from './config.ts';
import { nagGetAtt, nagPseudo, nagRef } from './nag.ts';
import { NodeLambda } from './node-lambda.ts';
import { SecureBucket } from './secure-bucket.ts';

export interface RealtimeStackProps extends StackProps {
  readonly config: AppConfig;
  readonly entries: { readonly connect: string; readonly disconnect: string; readonly default: string };
  /** The AgentCore runtime the $default handler invokes. */
  readonly agentRuntimeArn: string;
}

/** Key and TTL attribute of the connections table, shared with packages/realtime. */
export const CONNECTIONS_TABLE_KEYS = { partitionKey: 'connectionId', ttl: 'ttl' } as const;
/** Images are uploaded under this prefix (then `<session>/`), the only prefix the handler may touch. */
export const IMAGES_PREFIX = 'sessions/';
export const WEBSOCKET_STAGE = 'prod';
const AGENT_TURN_TIMEOUT = Duration.minutes(5);

/**
 * The chat's WebSocket API: $connect / $disconnect keep the connections table, $default forwards a
 * prompt to the AgentCore runtime and streams progress back; generated images go to a private bucket
 * and reach the browser as presigned URLs.
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
    const agentTurn = new NodeLambda(this, 'AgentTurn', {
      ...common,
      entry: props.entries.default,
      description: 'WebSocket $default: one chat turn through the AgentCore runtime',
      memorySize: 512,
      // An agent turn with a paid image (estimate, 402, sign, verify, generate, settle) takes time;
      // the handler reports progress on the socket meanwhile.
      timeout: AGENT_TURN_TIMEOUT,
      environment: {
        ...tableEnv,
        IMAGES_BUCKET: this.images.bucket.bucketName,
        AGENT_RUNTIME_ARN: props.agentRuntimeArn,
        AGENT_RUNTIME_QUALIFIER: 'DEFAULT',
        // Below the function timeout so a slow turn ends with an error frame, not a killed Lambda.
        AGENT_TIMEOUT_MS: String(AGENT_TURN_TIMEOUT.toMilliseconds() - 20_000),
      },
    });

    this.connectionsTable.grant(connect.role, 'dynamodb:PutItem');
    this.connectionsTable.grant(disconnect.role, 'dynamodb:DeleteItem');
    this.connectionsTable.grant(agentTurn.role, 'dynamodb:GetItem');

    // Upload generated images and presign GETs for them, under the sessions/ prefix only.
    agentTurn.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'SessionImagesOnly',
        actions: ['s3:PutObject', 's3:GetObject'],
        resources: [this.images.bucket.arnForObjects(`${IMAGES_PREFIX}*`)],
      }),
    );
    // InvokeAgentRuntime on this runtime and its DEFAULT endpoint (the qualifier the handler uses).
    agentTurn.role.addToPrincipalPolicy(
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
        integration: new WebSocketLambdaIntegration('DefaultIntegration', agentTurn.function),
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

    // PostToConnection on this API's stage only; the connection id is dynamic.
    agentTurn.role.addToPrincipalPolicy(
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

    this.acknowledgeScopedWildcards(agentTurn);

    if (config.apiGatewayAccountRole) this.addApiGatewayAccountRole();

    this.webSocketUrl = this.stage.url;
    new CfnOutput(this, 'WebSocketUrl', {
      value: this.webSocketUrl,
      description: 'wss:// URL for the chat page',
    });
    new CfnOutput(this, 'ImagesBucketName', { value: this.images.bucket.bucketName });
    new CfnOutput(this, 'ConnectionsTableName', { value: this.connectionsTable.tableName });
  }

  /** The $default role's only wildcards: object keys under one prefix, connection ids of one API. */
  private acknowledgeScopedWildcards(agentTurn: NodeLambda): void {
    const policy = agentTurn.role.node.tryFindChild('DefaultPolicy');
    if (!policy) return;
    const { region, account } = nagPseudo(this);
    const bucket = this.images.bucket.node.defaultChild as s3.CfnBucket;
    const api = this.api.node.defaultChild as apigwv2.CfnApi;
    const apiArn = `arn:<AWS::Partition>:execute-api:${region}:${account}:${nagRef(this, api)}/${WEBSOCKET_STAGE}`;
    const findings: [string, string][] = [
      [
        `${nagGetAtt(this, bucket, 'Arn')}/${IMAGES_PREFIX}*`,
        'Image keys are generated per session and image; access is limited to the sessions/ prefix of this bucket.',
      ],
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
