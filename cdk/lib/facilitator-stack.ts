import { CfnOutput, Duration, Stack, type StackProps, Validations } from 'aws-cdk-lib';
import * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type { Construct } from 'constructs';
import { apiAccessLog } from './api-access-log.ts';
import { type AppConfig, CLOUD_NETWORKS } from './config.ts';
import { NodeLambda } from './node-lambda.ts';

/** JSON keys of the facilitator's batch-settlement secrets (cdk/lambda/facilitator-secrets.ts reads them). */
export const FACILITATOR_SECRET_KEYS = {
  receiverAuthorizer: 'FACILITATOR_RECEIVER_AUTHORIZER_KEY',
  authorizerTokens: 'FACILITATOR_AUTHORIZER_TOKENS',
} as const;

export interface FacilitatorStackProps extends StackProps {
  readonly config: AppConfig;
  /** cdk/lambda/facilitator-handler.ts: loads the settler key from Secrets Manager, then the package. */
  readonly entry: string;
}

/**
 * Opt-in (`-c ownFacilitator=true`): our own x402 facilitator (packages/facilitator) on Lambda
 * behind an HTTP API, settling with a key kept in Secrets Manager. The default cloud deployment
 * uses x402.org (or CDP) and does not create this stack.
 */
export class FacilitatorStack extends Stack {
  readonly facilitatorUrl: string;
  readonly settlerKey: secretsmanager.Secret;
  /**
   * batch-settlement: the receiver authorizer's key (signs claims and refunds for the gateway).
   * Starts as `{"FACILITATOR_RECEIVER_AUTHORIZER_KEY":"none"}`: authorizer off until the operator
   * puts a key.
   */
  readonly receiverAuthorizerKey: secretsmanager.Secret;
  /**
   * batch-settlement: the bearer token servers send before the facilitator signs for them. Generated
   * at deploy; the facilitator accepts it (FACILITATOR_AUTHORIZER_TOKENS) and the gateway and its
   * claim job send it (FACILITATOR_TOKEN). No value ever appears in a template.
   */
  readonly authorizerToken: secretsmanager.Secret;

  constructor(scope: Construct, id: string, props: FacilitatorStackProps) {
    super(scope, id, props);
    const { config } = props;

    this.settlerKey = new secretsmanager.Secret(this, 'SettlerKey', {
      description:
        'Facilitator settler private key (0x-prefixed hex) paying gas for settlements. Set after deploy.',
    });
    Validations.of(this.settlerKey).acknowledge({
      id: 'AwsSolutions-SMG4',
      reason:
        'An EVM private key cannot be rotated by Secrets Manager; rotate by funding a new settler and put-secret-value.',
    });

    this.receiverAuthorizerKey = new secretsmanager.Secret(this, 'ReceiverAuthorizerKey', {
      description: `batch-settlement receiver authorizer key: JSON {"${FACILITATOR_SECRET_KEYS.receiverAuthorizer}":"0x<32-byte hex>"} (or the plain key). "none" (the generated placeholder) keeps the authorizer off.`,
      generateSecretString: {
        secretStringTemplate: JSON.stringify({ [FACILITATOR_SECRET_KEYS.receiverAuthorizer]: 'none' }),
        generateStringKey: 'placeholder',
      },
    });
    Validations.of(this.receiverAuthorizerKey).acknowledge({
      id: 'AwsSolutions-SMG4',
      reason:
        'An EVM private key cannot be rotated by Secrets Manager: channels name their receiver authorizer, so a new key applies to new channels only (put-secret-value after the old channels are claimed).',
    });
    this.authorizerToken = new secretsmanager.Secret(this, 'AuthorizerToken', {
      description:
        'Bearer token the gateway and its claim job send to the facilitator before it signs batch-settlement claims and refunds (one token, 16-256 printable characters). Generated at deploy.',
      generateSecretString: { passwordLength: 48, excludePunctuation: true, includeSpace: false },
    });
    Validations.of(this.authorizerToken).acknowledge({
      id: 'AwsSolutions-SMG4',
      reason:
        'The token is read once per Lambda container by the facilitator, the gateway and the claim job; rotate with put-secret-value (README) rather than a rotation Lambda that could not restart them together.',
    });

    const facilitator = new NodeLambda(this, 'Facilitator', {
      entry: props.entry,
      description: 'x402 facilitator: /verify /settle /supported',
      memorySize: 512,
      timeout: Duration.seconds(29),
      logRetentionDays: config.logRetentionDays,
      // The settler's transaction nonces are allocated per container: one container, one sequence.
      reservedConcurrentExecutions: 1,
      environment: {
        FACILITATOR_NETWORK: config.network,
        FACILITATOR_RPC_URL: config.facilitatorRpcUrl ?? CLOUD_NETWORKS[config.network].rpcUrl,
        FACILITATOR_PRIVATE_KEY_SECRET_ARN: this.settlerKey.secretArn,
        FACILITATOR_BATCH_SETTLEMENT: 'on',
        FACILITATOR_RECEIVER_AUTHORIZER_KEY_SECRET_ARN: this.receiverAuthorizerKey.secretArn,
        FACILITATOR_AUTHORIZER_TOKENS_SECRET_ARN: this.authorizerToken.secretArn,
        FACILITATOR_RECEIPT_TIMEOUT_MS: '20000',
      },
    });
    // The secret loader reads the values, nothing else (grantRead would add DescribeSecret).
    facilitator.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'ReadFacilitatorKeys',
        actions: ['secretsmanager:GetSecretValue'],
        resources: [
          this.settlerKey.secretArn,
          this.receiverAuthorizerKey.secretArn,
          this.authorizerToken.secretArn,
        ],
      }),
    );

    const accessLog = apiAccessLog(this, 'ApiAccessLogs', 'http', config.logRetentionDays);
    const api = new apigwv2.HttpApi(this, 'Api', {
      description: 'x402 facilitator (ours)',
      createDefaultStage: false,
    });
    const stage = new apigwv2.HttpStage(this, 'DefaultStage', {
      httpApi: api,
      stageName: '$default',
      autoDeploy: true,
      accessLogSettings: accessLog.settings,
      throttle: { rateLimit: 20, burstLimit: 40 },
    });
    const integration = new HttpLambdaIntegration('FacilitatorIntegration', facilitator.function);
    const routes = [
      ...api.addRoutes({ path: '/verify', methods: [apigwv2.HttpMethod.POST], integration }),
      ...api.addRoutes({ path: '/settle', methods: [apigwv2.HttpMethod.POST], integration }),
      ...api.addRoutes({ path: '/supported', methods: [apigwv2.HttpMethod.GET], integration }),
      ...api.addRoutes({ path: '/health', methods: [apigwv2.HttpMethod.GET], integration }),
    ];
    for (const route of routes) {
      Validations.of(route).acknowledge({
        id: 'AwsSolutions-APIG4',
        reason:
          'The x402 facilitator API is public like x402.org: it only verifies and submits payer-signed EIP-3009 authorizations; the stage is throttled.',
      });
    }

    this.facilitatorUrl = stage.url.replace(/\/$/, '');
    new CfnOutput(this, 'FacilitatorUrl', { value: this.facilitatorUrl });
    new CfnOutput(this, 'SettlerKeySecretArn', { value: this.settlerKey.secretArn });
    new CfnOutput(this, 'ReceiverAuthorizerKeySecretArn', { value: this.receiverAuthorizerKey.secretArn });
    new CfnOutput(this, 'AuthorizerTokenSecretArn', { value: this.authorizerToken.secretArn });
  }
}
