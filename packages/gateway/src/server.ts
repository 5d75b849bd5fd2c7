/**
 * Node entrypoint: `tsx packages/gateway/src/server.ts` (the root start script runs it). Reads the
 * environment once (see config.ts) and serves the gateway with the embedded defaults unless
 * DYNAMODB_ENDPOINT / IMAGE_GENERATOR=bedrock say otherwise.
 */
import { createImageGenerator } from '@agentic-payments/imaging';
import { isAppError } from '@agentic-payments/x402';
import { loadGatewayConfig } from './config.ts';
import { createJsonLogger } from './logger.ts';
import { startGateway } from './start-gateway.ts';

const logger = createJsonLogger();
try {
  const config = loadGatewayConfig();
  const gateway = await startGateway({
    port: config.GATEWAY_PORT,
    host: process.env.GATEWAY_HOST ?? '127.0.0.1',
    sellerAddress: config.SELLER_ADDRESS,
    network: config.NETWORK,
    facilitatorUrl: config.FACILITATOR_URL,
    facilitatorKind: config.FACILITATOR_KIND,
    cdpApiKeyId: config.CDP_API_KEY_ID,
    cdpApiKeySecret: config.CDP_API_KEY_SECRET,
    facilitatorToken: config.FACILITATOR_TOKEN,
    dataDir: config.DATA_DIR,
    paymentTable: config.PAYMENT_TABLE,
    dynamodbEndpoint: config.DYNAMODB_ENDPOINT,
    awsRegion: config.AWS_REGION,
    imageGenerator: createImageGenerator({ kind: config.IMAGE_GENERATOR, region: config.AWS_REGION }),
    imageUrlSecret: config.IMAGE_URL_SECRET,
    publicUrl: config.PUBLIC_URL,
    explorerUrl: config.EXPLORER_URL,
    imageDelivery: config.IMAGE_DELIVERY,
    rpcUrl: config.RPC_URL,
    batchSettlement: {
      enabled: config.BATCH_SETTLEMENT === 'on',
      claimIntervalSeconds: config.CHANNEL_CLAIM_INTERVAL_SECONDS,
      withdrawDelaySeconds: config.CHANNEL_WITHDRAW_DELAY_SECONDS,
      refundIdleSeconds: config.CHANNEL_REFUND_IDLE_SECONDS,
    },
    logger,
  });
  const shutdown = () => {
    gateway.stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGINT', shutdown);
  process.once('SIGTERM', shutdown);
} catch (error) {
  logger.error('startup_failed', {
    error: isAppError(error) ? error.code : 'internal_error',
    detail: error instanceof Error ? error.message : String(error),
  });
  process.exit(1);
}
