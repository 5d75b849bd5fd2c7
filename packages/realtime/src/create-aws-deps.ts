import { randomUUID } from 'node:crypto';
import { BedrockAgentCoreClient } from '@aws-sdk/client-bedrock-agentcore';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { S3Client } from '@aws-sdk/client-s3';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { createAgentCoreInvoker } from './adapters/agentcore-agent-invoker.ts';
import { createApiGatewayMessenger } from './adapters/api-gateway-messenger.ts';
import { createDynamoConnectionStore } from './adapters/dynamodb-connection-store.ts';
import { createDynamoTurnRegistry } from './adapters/dynamodb-turn-registry.ts';
import { createHttpAgentInvoker } from './adapters/http-agent-invoker.ts';
import { createLambdaTurnDispatcher } from './adapters/lambda-turn-dispatcher.ts';
import { createS3ImageStore } from './adapters/s3-image-store.ts';
import type { ConnectionsConfig, DefaultRouteConfig, TurnWorkerConfig } from './config.ts';
import type { ConnectHandlerDeps } from './connect-handler.ts';
import type { DefaultHandlerDeps } from './default-handler.ts';
import { createJsonLogger } from './logger.ts';
import type { Clock, Logger } from './ports.ts';
import type { TurnWorkerDeps } from './turn-worker.ts';

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
  return {
    connections: createDynamoConnectionStore({
      client: documentClient(config, options),
      tableName: config.CONNECTIONS_TABLE,
      clock,
    }),
    clock,
    logger: options.logger ?? createJsonLogger(),
    connectionTtlSeconds: config.CONNECTION_TTL_SECONDS,
  };
}

/**
 * Wires the `$default` route's dependencies from config with the AWS SDK clients: the connections
 * table (connection check and turn records), the Lambda client for the worker invoke, the
 * Management API. The local host calls this too, with endpoints pointing at its local engines.
 */
export function createDefaultDeps(
  config: DefaultRouteConfig,
  options: AwsDepsOptions = {},
): DefaultHandlerDeps {
  const { connections, clock, logger } = createConnectionsDeps(config, options);
  const credentials = options.credentials ? { credentials: options.credentials } : {};
  return {
    connections,
    turns: createDynamoTurnRegistry({
      client: documentClient(config, options),
      tableName: config.CONNECTIONS_TABLE,
      leaseSeconds: config.TURN_LEASE_SECONDS,
    }),
    dispatcher: createLambdaTurnDispatcher({
      client: new LambdaClient({
        region: config.AWS_REGION,
        ...(config.LAMBDA_ENDPOINT ? { endpoint: config.LAMBDA_ENDPOINT } : {}),
        ...credentials,
      }),
      functionName: config.TURN_WORKER_FUNCTION,
    }),
    messenger: createApiGatewayMessenger({
      callbackUrl: config.WEBSOCKET_CALLBACK_URL,
      clientConfig: { region: config.AWS_REGION, ...credentials },
    }),
    clock,
    logger,
    newTurnId: () => randomUUID(),
    settings: { maxFrameBytes: config.MAX_FRAME_BYTES },
  };
}

/**
 * Wires the turn worker's dependencies: turn records, the agent invoker (InvokeAgentRuntime, or
 * HTTP /invocations locally), S3 for images, the Management API for frames.
 */
export function createTurnWorkerDeps(config: TurnWorkerConfig, options: AwsDepsOptions = {}): TurnWorkerDeps {
  const clock = options.clock ?? systemClock;
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
    turns: createDynamoTurnRegistry({
      client: documentClient(config, options),
      tableName: config.CONNECTIONS_TABLE,
      leaseSeconds: config.TURN_LEASE_SECONDS,
    }),
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
    logger: options.logger ?? createJsonLogger(),
    settings: {
      progressIntervalMs: config.PROGRESS_INTERVAL_MS,
      agentTimeoutMs: config.AGENT_TIMEOUT_MS,
    },
  };
}

function documentClient(config: ConnectionsConfig, options: AwsDepsOptions): DynamoDBDocumentClient {
  return DynamoDBDocumentClient.from(
    new DynamoDBClient({
      region: config.AWS_REGION,
      ...(config.DYNAMODB_ENDPOINT ? { endpoint: config.DYNAMODB_ENDPOINT } : {}),
      ...(options.credentials ? { credentials: options.credentials } : {}),
    }),
  );
}
