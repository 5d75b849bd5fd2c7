import { CfnOutput, Duration, RemovalPolicy, Stack, type StackProps, Validations } from 'aws-cdk-lib';
import * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
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
  readonly facilitatorUrl?: string;
}

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

    const network = CLOUD_NETWORKS[config.network];
    this.gateway = new NodeLambda(this, 'Gateway', {
      entry: facilitatorKind === 'cdp' ? props.cdpEntry : props.entry,
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
  }
}
