import { CfnOutput, Duration, RemovalPolicy, Stack, type StackProps, Validations } from 'aws-cdk-lib';
import * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import type { Construct } from 'constructs';
import { apiAccessLog } from './api-access-log.ts';
import { type AppConfig, CLOUD_NETWORKS } from './config.ts';
import { nagGetAtt } from './nag.ts';
import { NodeLambda } from './node-lambda.ts';
import { SecureBucket } from './secure-bucket.ts';

export interface PaymentsGatewayStackProps extends StackProps {
  readonly config: AppConfig;
  /** packages/gateway/src/lambda.ts */
  readonly entry: string;
  /** cdk/lambda/gateway-cdp-handler.ts, used when facilitatorKind is `cdp` (loads the CDP key first). */
  readonly cdpEntry: string;
  /** Our own facilitator's URL when `ownFacilitator` is on; else `config.facilitatorUrl`. */
  readonly facilitatorUrl?: string | undefined;
  /**
   * With our own facilitator: the secret holding the bearer token it asks for before it signs
   * batch-settlement claims and refunds. Turns batch-settlement on, with the claim job.
   */
  readonly facilitatorToken?: secretsmanager.ISecret | undefined;
  /** cdk/lambda/gateway-token-handler.ts: the gateway behind the token loader (with facilitatorToken). */
  readonly tokenEntry?: string | undefined;
  /** cdk/lambda/claim-handler.ts: the claim job behind the token loader (with facilitatorToken). */
  readonly claimEntry?: string | undefined;
}

/** The channels' withdraw delay (s) offered in the 402; the claim job runs well inside it. */
export const CHANNEL_WITHDRAW_DELAY_SECONDS = 900;

/** The payment table's key and TTL attribute (seconds), as packages/gateway's DynamoDB adapter writes them. */
export const PAYMENT_TABLE_KEYS = { partitionKey: 'pk', ttl: 'ttl' } as const;
/** packages/gateway's S3 image store writes `images/<id>`. */
export const GATEWAY_IMAGES_PREFIX = 'images/';
/** The model packages/imaging's Nova Canvas generator calls (its NOVA_CANVAS_MODEL_ID). */
export const NOVA_CANVAS_MODEL_ID = 'amazon.nova-canvas-v1:0';

/**
 * The x402 seller: HTTP API → gateway Lambda (verify → generate with Nova Canvas → settle) and the
 * payment table that makes every authorization usable once across all Lambda instances.
 */
export class PaymentsGatewayStack extends Stack {
  readonly api: apigwv2.HttpApi;
  readonly gatewayUrl: string;
  readonly paymentTable: dynamodb.Table;
  readonly sellerAddress: string;
  readonly gateway: NodeLambda;
  readonly images: SecureBucket;
  /** Only when facilitatorKind is `cdp`: the CDP API key the gateway authenticates with. */
  readonly cdpSecret?: secretsmanager.Secret;
  /** Only with our own facilitator (batch-settlement on): the scheduled claim + settle job. */
  readonly claims?: NodeLambda;
  readonly claimSchedule?: events.Rule;

  constructor(scope: Construct, id: string, props: PaymentsGatewayStackProps) {
    super(scope, id, props);
    const { config } = props;

    this.paymentTable = new dynamodb.Table(this, 'PaymentTable', {
      partitionKey: { name: PAYMENT_TABLE_KEYS.partitionKey, type: dynamodb.AttributeType.STRING },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      timeToLiveAttribute: PAYMENT_TABLE_KEYS.ttl,
      encryption: dynamodb.TableEncryption.AWS_MANAGED,
      // Receipts of real payments: keep them when the stack goes away.
      removalPolicy: RemovalPolicy.RETAIN,
    });

    // Resolved by CloudFormation at deploy time (an SSM parameter type), so synth needs no account.
    this.sellerAddress =
      config.sellerAddress ??
      ssm.StringParameter.valueForStringParameter(this, config.sellerAddressParameter);

    this.images = new SecureBucket(this, 'Images', {
      expiryDays: config.imageExpiryDays,
      expiryPrefix: GATEWAY_IMAGES_PREFIX,
    });

    const facilitatorKind = props.facilitatorUrl ? 'ours' : config.facilitatorKind;
    const cdpEnv: Record<string, string> = {};
    if (facilitatorKind === 'cdp') {
      this.cdpSecret = new secretsmanager.Secret(this, 'CdpFacilitatorCredentials', {
        description:
          'CDP API key for the CDP facilitator: JSON with CDP_API_KEY_ID, CDP_API_KEY_SECRET. Set after deploy.',
      });
      Validations.of(this.cdpSecret).acknowledge({
        id: 'AwsSolutions-SMG4',
        reason:
          'CDP API keys are issued and rotated in the Coinbase Developer Platform portal; AWS cannot rotate them.',
      });
      cdpEnv.CDP_SECRET_ARN = this.cdpSecret.secretArn;
    }
    // batch-settlement needs a facilitator that signs claims and refunds for us (ours, with its token)
    // and the claim job; with a third-party facilitator the gateway offers `exact` only.
    const token = facilitatorKind === 'ours' ? props.facilitatorToken : undefined;
    const batchEnv: Record<string, string> = token
      ? {
          BATCH_SETTLEMENT: 'on',
          CHANNEL_WITHDRAW_DELAY_SECONDS: String(CHANNEL_WITHDRAW_DELAY_SECONDS),
          FACILITATOR_TOKEN_SECRET_ARN: token.secretArn,
        }
      : { BATCH_SETTLEMENT: 'off' };
    if (token && !props.tokenEntry)
      throw new Error('PaymentsGatewayStack: facilitatorToken needs tokenEntry');

    const network = CLOUD_NETWORKS[config.network];
    this.gateway = new NodeLambda(this, 'Gateway', {
      entry: facilitatorKind === 'cdp' ? props.cdpEntry : token ? (props.tokenEntry as string) : props.entry,
      description: 'x402 seller: paywalled Nova Canvas image generation',
      memorySize: 1024,
      // Nova Canvas 2048x2048 premium plus settlement on Base can take a while.
      timeout: Duration.seconds(29),
      logRetentionDays: config.logRetentionDays,
      environment: {
        NETWORK: config.network,
        FACILITATOR_URL: props.facilitatorUrl ?? config.facilitatorUrl,
        FACILITATOR_KIND: facilitatorKind,
        SELLER_ADDRESS: this.sellerAddress,
        PAYMENT_TABLE: this.paymentTable.tableName,
        IMAGE_GENERATOR: 'bedrock',
        IMAGE_BUCKET: this.images.bucket.bucketName,
        EXPLORER_URL: network.explorerUrl,
        RPC_URL: config.facilitatorRpcUrl ?? network.rpcUrl,
        ...cdpEnv,
        ...batchEnv,
      },
    });

    // What packages/gateway's DynamoDB payment store sends (cdk/test/iam-contract.test.ts records it):
    // PutItem (conditional create/replace, unconditional put), conditional DeleteItem, consistent GetItem.
    this.paymentTable.grant(this.gateway.role, 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:DeleteItem');
    this.gateway.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'InvokeNovaCanvasOnly',
        actions: ['bedrock:InvokeModel'],
        resources: [`arn:${this.partition}:bedrock:${this.region}::foundation-model/${NOVA_CANVAS_MODEL_ID}`],
      }),
    );
    // Store generated images and presign GETs for them, under images/ only.
    this.gateway.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'GatewayImagesOnly',
        actions: ['s3:PutObject', 's3:GetObject'],
        resources: [this.images.bucket.arnForObjects(`${GATEWAY_IMAGES_PREFIX}*`)],
      }),
    );
    // A GET of a missing image must answer 404 NoSuchKey (the takeover path relies on it); S3 answers
    // 403 AccessDenied instead unless the caller may list the bucket (GetObject API reference).
    // No s3:prefix condition: that check is made without a prefix. The bucket holds only images/.
    this.gateway.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'GatewayImagesMissingIs404',
        actions: ['s3:ListBucket'],
        resources: [this.images.bucket.bucketArn],
      }),
    );
    // The CDP shim reads the secret's value, nothing else (grantRead would add DescribeSecret).
    if (this.cdpSecret) {
      this.gateway.role.addToPrincipalPolicy(
        new iam.PolicyStatement({
          sid: 'ReadCdpFacilitatorKey',
          actions: ['secretsmanager:GetSecretValue'],
          resources: [this.cdpSecret.secretArn],
        }),
      );
    }
    // The token shim reads the facilitator token, nothing else.
    if (token) {
      this.gateway.role.addToPrincipalPolicy(
        new iam.PolicyStatement({
          sid: 'ReadFacilitatorToken',
          actions: ['secretsmanager:GetSecretValue'],
          resources: [token.secretArn],
        }),
      );
      const { claims, schedule } = this.createClaimJob(props, token, facilitatorKind);
      this.claims = claims;
      this.claimSchedule = schedule;
    }
    const policy = this.gateway.role.node.tryFindChild('DefaultPolicy');
    if (policy) {
      const bucket = this.images.bucket.node.defaultChild as s3.CfnBucket;
      Validations.of(policy).acknowledge({
        id: `AwsSolutions-IAM5[Resource::${nagGetAtt(this, bucket, 'Arn')}/${GATEWAY_IMAGES_PREFIX}*]`,
        reason:
          'Image ids are generated per purchase; access is limited to the images/ prefix of this bucket.',
      });
    }

    const accessLog = apiAccessLog(this, 'ApiAccessLogs', 'http', config.logRetentionDays);
    this.api = new apigwv2.HttpApi(this, 'Api', {
      description: 'x402 payments gateway (POST /generate_image)',
      createDefaultStage: false,
      corsPreflight: {
        allowOrigins: ['*'],
        allowMethods: [apigwv2.CorsHttpMethod.GET, apigwv2.CorsHttpMethod.POST],
        allowHeaders: ['content-type', 'payment-signature', 'x-payment'],
        exposeHeaders: ['payment-required', 'payment-response', 'x-payment-response'],
        maxAge: Duration.hours(1),
      },
    });
    const stage = new apigwv2.HttpStage(this, 'DefaultStage', {
      httpApi: this.api,
      stageName: '$default',
      autoDeploy: true,
      accessLogSettings: accessLog.settings,
      throttle: { rateLimit: 50, burstLimit: 100 },
    });
    const integration = new HttpLambdaIntegration('GatewayIntegration', this.gateway.function);
    const routes = [
      ...this.api.addRoutes({ path: '/generate_image', methods: [apigwv2.HttpMethod.POST], integration }),
      ...this.api.addRoutes({ path: '/health', methods: [apigwv2.HttpMethod.GET], integration }),
      ...this.api.addRoutes({ path: '/images/{id}', methods: [apigwv2.HttpMethod.GET], integration }),
    ];
    for (const route of routes) {
      Validations.of(route).acknowledge({
        id: 'AwsSolutions-APIG4',
        reason:
          'x402 is the authorization: /generate_image answers 402 until a signed USDC payment verifies; /health and signed, expiring /images/{id} URLs carry no secrets.',
      });
    }

    // No trailing slash: clients append /generate_image.
    this.gatewayUrl = stage.url.replace(/\/$/, '');
    new CfnOutput(this, 'GatewayUrl', { value: this.gatewayUrl, description: 'x402 seller base URL' });
    new CfnOutput(this, 'PaymentTableName', { value: this.paymentTable.tableName });
    new CfnOutput(this, 'GatewayImagesBucketName', { value: this.images.bucket.bucketName });
    if (this.cdpSecret) new CfnOutput(this, 'CdpFacilitatorSecretArn', { value: this.cdpSecret.secretArn });
    if (this.claims)
      new CfnOutput(this, 'ClaimJobFunctionName', { value: this.claims.function.functionName });
  }

  /**
   * The batch-settlement claim job: packages/gateway's claim-lambda.ts (one claim + settle pass of
   * the official channel manager over the payment table) every `claimIntervalMinutes`. One instance
   * at a time (a pass must not overlap another); a failed run is not retried, the next one claims.
   */
  private createClaimJob(
    props: PaymentsGatewayStackProps,
    token: secretsmanager.ISecret,
    facilitatorKind: string,
  ): { claims: NodeLambda; schedule: events.Rule } {
    const { config } = props;
    if (!props.claimEntry) throw new Error('PaymentsGatewayStack: facilitatorToken needs claimEntry');
    const claims = new NodeLambda(this, 'ClaimJob', {
      entry: props.claimEntry,
      description: 'x402 batch-settlement: claim and settle the payment channels (scheduled)',
      memorySize: 512,
      // A claim, a settle and idle refunds, each up to the facilitator client's 45 s settle deadline.
      timeout: Duration.minutes(3),
      logRetentionDays: config.logRetentionDays,
      reservedConcurrentExecutions: 1,
      environment: {
        NETWORK: config.network,
        FACILITATOR_URL: props.facilitatorUrl ?? config.facilitatorUrl,
        FACILITATOR_KIND: facilitatorKind,
        SELLER_ADDRESS: this.sellerAddress,
        PAYMENT_TABLE: this.paymentTable.tableName,
        BATCH_SETTLEMENT: 'on',
        CHANNEL_WITHDRAW_DELAY_SECONDS: String(CHANNEL_WITHDRAW_DELAY_SECONDS),
        CHANNEL_REFUND_IDLE_SECONDS: String(config.channelRefundIdleHours * 3600),
        FACILITATOR_TOKEN_SECRET_ARN: token.secretArn,
      },
    });
    // What the channel manager sends through the payment store: reads, claimed totals (PutItem) and
    // the deletion of refunded channels; the same three item operations as the gateway.
    this.paymentTable.grant(claims.role, 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:DeleteItem');
    claims.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'ReadFacilitatorToken',
        actions: ['secretsmanager:GetSecretValue'],
        resources: [token.secretArn],
      }),
    );
    const schedule = new events.Rule(this, 'ClaimSchedule', {
      description: 'Runs the batch-settlement claim job',
      schedule: events.Schedule.rate(Duration.minutes(config.claimIntervalMinutes)),
      targets: [
        new targets.LambdaFunction(claims.function, {
          retryAttempts: 0,
          maxEventAge: Duration.minutes(config.claimIntervalMinutes),
        }),
      ],
    });
    return { claims, schedule };
  }
}
