import { BedrockAgentCoreClient } from '@aws-sdk/client-bedrock-agentcore';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { createAgentCoreInvoker } from './adapters/agentcore-agent-invoker.ts';
import { createApiGatewayMessenger } from './adapters/api-gateway-messenger.ts';
import { createDynamoConnectionStore } from './adapters/dynamodb-connection-store.ts';
import { createHttpAgentInvoker } from './adapters/http-agent-invoker.ts';
import { createS3ImageStore } from './adapters/s3-image-store.ts';
import type { ConnectionsConfig, RealtimeConfig } from './config.ts';
import type { ConnectHandlerDeps } from './connect-handler.ts';
import type { DefaultHandlerDeps } from './default-handler.ts';
import { createJsonLogger } from './logger.ts';
import type { Clock, Logger } from './ports.ts';

export interface AwsDepsOptions {
  /** Static credentials for local engines (s3rver wants S3RVER/S3RVER); the default chain otherwise. */
  credentials?: { accessKeyId: string; secretAccessKey: string };
  logger?: Logger;
  clock?: Clock;
}

const systemClock: Clock = { now: () => Date.now() };

/** Wires the connect/disconnect routes' dependencies from config: DynamoDB only. */
export function createConnectionsDeps(
  config: ConnectionsConfig,
  options: AwsDepsOptions = {},
): ConnectHandlerDeps {
  const clock = options.clock ?? systemClock;
  const dynamo = new DynamoDBClient({
    region: config.AWS_REGION,
    ...(config.DYNAMODB_ENDPOINT ? { endpoint: config.DYNAMODB_ENDPOINT } : {}),
    ...(options.credentials ? { credentials: options.credentials } : {}),
  });
  return {
    connections: createDynamoConnectionStore({
      client: DynamoDBDocumentClient.from(dynamo),
      tableName: config.CONNECTIONS_TABLE,
      clock,
    }),
    clock,
    logger: options.logger ?? createJsonLogger(),
    connectionTtlSeconds: config.CONNECTION_TTL_SECONDS,
  };
}

/**
 * Wires the agent route's dependencies from config with the AWS SDK clients. The local host calls
 * this too, with endpoints pointing at dynalite, s3rver and itself, so the handlers cannot tell.
 */
export function createDefaultDeps(config: RealtimeConfig, options: AwsDepsOptions = {}): DefaultHandlerDeps {
  const { connections, clock, logger } = createConnectionsDeps(config, options);
  const credentials = options.credentials ? { credentials: options.credentials } : {};
  const s3 = new S3Client({
    region: config.AWS_REGION,
    ...(config.S3_ENDPOINT ? { endpoint: config.S3_ENDPOINT } : {}),
    forcePathStyle: config.S3_FORCE_PATH_STYLE,
    // s3rver (local) predates the flexible checksums the SDK now adds by default.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    ...credentials,
  });
  const agent = config.AGENT_RUNTIME_ARN
    ? createAgentCoreInvoker({
        client: new BedrockAgentCoreClient({ region: config.AWS_REGION, ...credentials }),
        agentRuntimeArn: config.AGENT_RUNTIME_ARN,
        qualifier: config.AGENT_RUNTIME_QUALIFIER,
      })
    : createHttpAgentInvoker({ agentUrl: config.AGENT_URL ?? '' });
  return {
    connections,
    agent,
    images: createS3ImageStore({
      client: s3,
      bucket: config.IMAGES_BUCKET,
      urlTtlSeconds: config.IMAGE_URL_TTL_SECONDS,
    }),
    messenger: createApiGatewayMessenger({
      callbackUrl: config.WEBSOCKET_CALLBACK_URL,
      clientConfig: { region: config.AWS_REGION, ...credentials },
    }),
    clock,
    logger,
    settings: {
      maxFrameBytes: config.MAX_FRAME_BYTES,
      progressIntervalMs: config.PROGRESS_INTERVAL_MS,
      agentTimeoutMs: config.AGENT_TIMEOUT_MS,
    },
  };
}
