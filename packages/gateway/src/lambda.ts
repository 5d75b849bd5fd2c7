/**
 * Lambda entrypoint (API Gateway HTTP/REST → `hono/aws-lambda`): DynamoDB payment store, S3 images
 * with presigned URLs, Nova Canvas (or the local generator if IMAGE_GENERATOR=local), the
 * configured facilitator. Wiring happens once per container.
 */

import { createImageGenerator } from '@agentic-payments/imaging';
import { AppError, getNetwork } from '@agentic-payments/x402';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { handle } from 'hono/aws-lambda';
import { createViemChainReader } from './chain-reader.ts';
import { createChannelLog } from './channel-log.ts';
import { createChannelPayments } from './channel-payments.ts';
import { createChannelStorage, createSettleDueFlag } from './channel-storage.ts';
import { loadGatewayConfig } from './config.ts';
import { createApp } from './create-app.ts';
import { createDynamoDbPaymentStore } from './dynamodb-payment-store.ts';
import { createHttpFacilitatorClient } from './facilitator-client.ts';
import { createJsonLogger } from './logger.ts';
import { createS3ImageStore } from './s3-image-store.ts';

const config = loadGatewayConfig();
if (config.IMAGE_BUCKET === undefined) {
  throw new AppError('invalid_config', 'invalid gateway configuration: IMAGE_BUCKET: required on Lambda', {
    httpStatus: 500,
  });
}
const clock = { now: () => Date.now() };
const logger = createJsonLogger();
const paymentStore = createDynamoDbPaymentStore({
  client: new DynamoDBClient({ region: config.AWS_REGION, endpoint: config.DYNAMODB_ENDPOINT }),
  tableName: config.PAYMENT_TABLE,
});
const facilitator = createHttpFacilitatorClient({
  url: config.FACILITATOR_URL,
  kind: config.FACILITATOR_KIND,
  cdpApiKeyId: config.CDP_API_KEY_ID,
  cdpApiKeySecret: config.CDP_API_KEY_SECRET,
  bearerToken: config.FACILITATOR_TOKEN,
});
const network = getNetwork(config.NETWORK);

/**
 * `batch-settlement` channels in the same table. Claims and settles do not run here (a request
 * handler has no timer): the scheduled `claim-lambda.ts` runs them every CHANNEL_CLAIM_INTERVAL_SECONDS.
 */
export const channels =
  config.BATCH_SETTLEMENT === 'off'
    ? undefined
    : createChannelPayments({
        storage: createChannelStorage(paymentStore),
        settleDue: createSettleDueFlag(paymentStore),
        log: createChannelLog(paymentStore),
        facilitator,
        payTo: config.SELLER_ADDRESS,
        network,
        asset: network.usdcAddress,
        withdrawDelaySeconds: config.CHANNEL_WITHDRAW_DELAY_SECONDS,
        logger,
      });

const app = createApp({
  config: {
    sellerAddress: config.SELLER_ADDRESS,
    network: config.NETWORK,
    explorerUrl: config.EXPLORER_URL,
    publicUrl: config.PUBLIC_URL,
    // Always by URL: a 2048x2048 Nova Canvas PNG as base64 (5-8 MB) exceeds Lambda's 6 MB response.
    imageDelivery: 'url',
  },
  paymentStore,
  facilitator,
  imageGenerator: createImageGenerator({ kind: config.IMAGE_GENERATOR, region: config.AWS_REGION }),
  imageStore: createS3ImageStore({
    client: new S3Client({ region: config.AWS_REGION }),
    bucket: config.IMAGE_BUCKET,
    now: clock.now,
  }),
  clock,
  logger,
  chain: config.RPC_URL === undefined ? undefined : createViemChainReader({ rpcUrl: config.RPC_URL }),
  channels,
});

export const handler = handle(app);
