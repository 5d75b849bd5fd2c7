/**
 * Scheduled Lambda (EventBridge rate of CHANNEL_CLAIM_INTERVAL_SECONDS): one claim + settle pass of
 * the `batch-settlement` channel manager over the payment table, and idle refunds when
 * CHANNEL_REFUND_IDLE_SECONDS is set (see channel-claims.ts). DynamoDB operations: GetItem,
 * PutItem, DeleteItem on the payment table, as the gateway's.
 */
import { AppError, getNetwork } from '@agentic-payments/x402';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { startChannelClaims } from './channel-claims.ts';
import { createChannelLog } from './channel-log.ts';
import { createChannelPayments } from './channel-payments.ts';
import { createChannelStorage, createSettleDueFlag } from './channel-storage.ts';
import { loadGatewayConfig } from './config.ts';
import { createDynamoDbPaymentStore } from './dynamodb-payment-store.ts';
import { createHttpFacilitatorClient } from './facilitator-client.ts';
import { createJsonLogger } from './logger.ts';

const config = loadGatewayConfig();
if (config.BATCH_SETTLEMENT === 'off') {
  throw new AppError('invalid_config', 'the claim job needs BATCH_SETTLEMENT=on', { httpStatus: 500 });
}
const logger = createJsonLogger();
const network = getNetwork(config.NETWORK);
const store = createDynamoDbPaymentStore({
  client: new DynamoDBClient({ region: config.AWS_REGION, endpoint: config.DYNAMODB_ENDPOINT }),
  tableName: config.PAYMENT_TABLE,
});
const channels = createChannelPayments({
  storage: createChannelStorage(store),
  settleDue: createSettleDueFlag(store),
  log: createChannelLog(store),
  facilitator: createHttpFacilitatorClient({
    url: config.FACILITATOR_URL,
    kind: config.FACILITATOR_KIND,
    cdpApiKeyId: config.CDP_API_KEY_ID,
    cdpApiKeySecret: config.CDP_API_KEY_SECRET,
    bearerToken: config.FACILITATOR_TOKEN,
  }),
  payTo: config.SELLER_ADDRESS,
  network,
  asset: network.usdcAddress,
  withdrawDelaySeconds: config.CHANNEL_WITHDRAW_DELAY_SECONDS,
  logger,
});
const claims = startChannelClaims(channels.manager, {
  refundIdleSeconds: config.CHANNEL_REFUND_IDLE_SECONDS,
  settleDue: channels.settleDue,
  log: channels.log,
  logger,
});

export const handler = async () => {
  const run = await claims.runOnce();
  return {
    claims: run.claims.length,
    vouchers: run.claims.reduce((n, claim) => n + claim.vouchers, 0),
    settle: run.settle?.transaction,
    refunds: run.refunds.length,
  };
};
