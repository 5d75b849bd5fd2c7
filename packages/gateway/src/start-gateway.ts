import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import {
  createImageGenerator,
  defaultRenderThreads,
  type ImageGenerator,
  LocalImageGenerator,
} from '@agentic-payments/imaging';
import {
  answerClientErrorsAsJson,
  getNetwork,
  type NetworkId,
  NODE_MAX_HEADER_BYTES,
} from '@agentic-payments/x402';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { serve } from '@hono/node-server';
import { type AwsLimitsOptions, withAwsLimits } from './aws-limits.ts';
import { type ChainReader, createViemChainReader } from './chain-reader.ts';
import { type ChannelClaims, startChannelClaims } from './channel-claims.ts';
import { createChannelLog } from './channel-log.ts';
import { type ChannelPayments, createChannelPayments } from './channel-payments.ts';
import { createChannelStorage, createSettleDueFlag } from './channel-storage.ts';
import { createApp, type ImageDelivery } from './create-app.ts';
import { createDynamoDbPaymentStore, ensurePaymentTable } from './dynamodb-payment-store.ts';
import {
  createHttpFacilitatorClient,
  type FacilitatorClient,
  type FacilitatorKind,
} from './facilitator-client.ts';
import type { ImageStore } from './image-store.ts';
import { type LocalDynamo, startLocalDynamo } from './local-dynamo.ts';
import { createLocalImageStore, type LocalImageStore } from './local-image-store.ts';
import { createJsonLogger, type Logger } from './logger.ts';
import type { PaymentStore } from './payment-store.ts';

export interface StartGatewayOptions {
  /** 0 picks a free port. */
  readonly port: number;
  readonly host?: string;
  readonly sellerAddress: `0x${string}`;
  readonly network: NetworkId;
  readonly facilitatorUrl: string;
  readonly facilitatorKind?: FacilitatorKind;
  readonly cdpApiKeyId?: string | undefined;
  readonly cdpApiKeySecret?: string | undefined;
  /** Bearer token for our facilitator (FACILITATOR_TOKEN). */
  readonly facilitatorToken?: string | undefined;
  /** Local state (dynalite under `payments/`, images under `images/`). */
  readonly dataDir: string;
  readonly paymentTable?: string;
  /** A DynamoDB (or shared dynalite) endpoint; unset → start the embedded dynalite under dataDir. */
  readonly dynamodbEndpoint?: string | undefined;
  readonly awsRegion?: string;
  readonly imageGenerator?: ImageGenerator;
  readonly imageUrlSecret?: string | undefined;
  readonly publicUrl?: string | undefined;
  readonly explorerUrl?: string | undefined;
  /** `inline` (default: base64 too, when the answer fits 6 MB) or `url` (as on Lambda). */
  readonly imageDelivery?: ImageDelivery | undefined;
  /**
   * The cloud's limits this server enforces (defaults: Lambda's 6 MB response, the HTTP API's
   * 30 s); tests lower them to reach them quickly.
   */
  readonly awsLimits?: Pick<AwsLimitsOptions, 'maxResponseBytes' | 'timeoutMs'>;
  /** JSON-RPC for settlement recovery (receipt / authorizationState reads). */
  readonly rpcUrl?: string | undefined;
  readonly facilitator?: FacilitatorClient;
  readonly paymentStore?: PaymentStore;
  /** Wraps the local image store (files under `dataDir/images`, signed links); fault injection in tests. */
  readonly imageStore?: ((local: LocalImageStore) => ImageStore) | undefined;
  readonly logger?: Logger;
  readonly clock?: { now(): number };
  /**
   * `batch-settlement` (default on): offered while the facilitator lists it; channels live in the
   * payment store; claims and settles run every `claimIntervalSeconds` (default 60) and at `stop()`.
   */
  readonly batchSettlement?:
    | {
        readonly enabled?: boolean;
        readonly claimIntervalSeconds?: number | undefined;
        readonly withdrawDelaySeconds?: number | undefined;
        readonly refundIdleSeconds?: number | undefined;
      }
    | undefined;
}

export interface RunningGateway {
  readonly url: string;
  /** The DynamoDB endpoint in use (the embedded dynalite's, when it was started here). */
  readonly dynamodbEndpoint: string | undefined;
  /** The batch-settlement side (absent when disabled): its channel manager and claim schedule. */
  readonly channels?: { readonly payments: ChannelPayments; readonly claims: ChannelClaims } | undefined;
  stop(): Promise<void>;
}

/**
 * Start the gateway on Node: the embedded defaults are dynalite under `dataDir/payments`, images
 * under `dataDir/images` and the local procedural generator.
 *
 * @example
 * const gateway = await startGateway({ port: 0, sellerAddress, network: 'devnet', facilitatorUrl, dataDir });
 * await fetch(`${gateway.url}/health`);
 * await gateway.stop();
 */
export async function startGateway(options: StartGatewayOptions): Promise<RunningGateway> {
  const logger = options.logger ?? createJsonLogger();
  const clock = options.clock ?? { now: () => Date.now() };
  let localDynamo: LocalDynamo | undefined;
  let dynamo: DynamoDBClient | undefined;
  let paymentStore = options.paymentStore;
  let endpoint = options.dynamodbEndpoint;
  if (paymentStore === undefined) {
    if (endpoint === undefined) {
      localDynamo = await startLocalDynamo({ dataDir: options.dataDir, port: 0 });
      endpoint = localDynamo.endpoint;
      logger.info('local_dynamodb_started', {
        endpoint,
        engine: 'dynalite',
        dir: `${options.dataDir}/payments`,
      });
    }
    const local = localDynamo !== undefined || /^http:\/\/(127\.0\.0\.1|localhost)/.test(endpoint);
    dynamo = new DynamoDBClient({
      endpoint,
      region: options.awsRegion ?? 'us-east-1',
      // dynalite accepts any credentials; real endpoints use the default provider chain.
      ...(local ? { credentials: { accessKeyId: 'local', secretAccessKey: 'local' } } : {}),
      // The engine this process started is called in-process (no TCP round trip per operation).
      // Otherwise smithy's handler prints a socket-capacity notice on the console whenever the pool
      // is saturated (a replay storm does that on purpose); its documented `logger` option sends it
      // to this gateway's structured log instead.
      requestHandler: localDynamo?.requestHandler ?? {
        logger: {
          debug: () => {},
          info: () => {},
          warn: (message: unknown) => logger.warn('dynamodb_http_handler', { message: String(message) }),
          error: (message: unknown) => logger.error('dynamodb_http_handler', { message: String(message) }),
        },
      },
    });
    const tableName = options.paymentTable ?? 'payments';
    if (local) await ensurePaymentTable(dynamo, tableName);
    paymentStore = createDynamoDbPaymentStore({ client: dynamo, tableName });
  }

  const host = options.host ?? '127.0.0.1';
  // Bind first so the public URL (signed image links) knows the port.
  let app: ReturnType<typeof createApp> | undefined;
  // What Lambda and the HTTP API enforce in the cloud, enforced here too (see aws-limits.ts);
  // `/images/:id` stands in for S3 presigned URLs, which are not behind Lambda.
  const fetch = withAwsLimits(
    (request, env) =>
      app === undefined ? new Response('starting', { status: 503 }) : app.fetch(request, env),
    {
      ...options.awsLimits,
      exempt: (path) => path.startsWith('/images/'),
      onLimit: (event) => logger.error('aws_limit_exceeded', { ...event }),
    },
  );
  const server = await new Promise<ReturnType<typeof serve>>((resolve, reject) => {
    const s = serve(
      {
        fetch,
        port: options.port,
        hostname: host,
        // Above the gateway's own 16 KiB payment-header limit, so that limit answers with its code.
        serverOptions: { maxHeaderSize: NODE_MAX_HEADER_BYTES },
      },
      () => resolve(s),
    );
    s.once('error', reject);
  });
  answerClientErrorsAsJson(server);
  const { port } = server.address() as AddressInfo;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  const publicUrl = options.publicUrl ?? url;

  const imageUrlSecret = options.imageUrlSecret ?? localImageUrlSecret(options.dataDir);
  // The embedded generator renders in worker threads: its pixel work stays off this event loop,
  // which serves HTTP and the payment store, as a remote model's would.
  const ownGenerator =
    options.imageGenerator === undefined
      ? createImageGenerator({ kind: 'local', threads: defaultRenderThreads() })
      : undefined;
  const imageGenerator = options.imageGenerator ?? (ownGenerator as ImageGenerator);
  if (ownGenerator instanceof LocalImageGenerator) await ownGenerator.warm();
  // A wrapper keeps the local store's signed links (`verifySignature`) unless it replaces them.
  const wrapImageStore = (local: LocalImageStore) =>
    options.imageStore === undefined
      ? local
      : { verifySignature: local.verifySignature, ...options.imageStore(local) };
  const chain: ChainReader | undefined =
    options.rpcUrl === undefined ? undefined : createViemChainReader({ rpcUrl: options.rpcUrl });
  const facilitator =
    options.facilitator ??
    createHttpFacilitatorClient({
      url: options.facilitatorUrl,
      kind: options.facilitatorKind ?? 'ours',
      cdpApiKeyId: options.cdpApiKeyId,
      cdpApiKeySecret: options.cdpApiKeySecret,
      bearerToken: options.facilitatorToken,
    });
  const bs = options.batchSettlement ?? {};
  const network = getNetwork(options.network);
  const channelPayments =
    bs.enabled === false
      ? undefined
      : createChannelPayments({
          storage: createChannelStorage(paymentStore),
          settleDue: createSettleDueFlag(paymentStore),
          log: createChannelLog(paymentStore),
          facilitator,
          payTo: options.sellerAddress,
          network,
          asset: network.usdcAddress,
          withdrawDelaySeconds: bs.withdrawDelaySeconds,
          logger,
        });
  const channelClaims =
    channelPayments === undefined
      ? undefined
      : startChannelClaims(channelPayments.manager, {
          intervalSeconds: bs.claimIntervalSeconds ?? 60,
          refundIdleSeconds: bs.refundIdleSeconds,
          settleDue: channelPayments.settleDue,
          log: channelPayments.log,
          logger,
        });
  app = createApp({
    config: {
      sellerAddress: options.sellerAddress,
      network: options.network,
      explorerUrl: options.explorerUrl,
      publicUrl,
      imageDelivery: options.imageDelivery,
      maxResponseBytes: options.awsLimits?.maxResponseBytes,
    },
    paymentStore,
    facilitator,
    imageGenerator,
    imageStore: wrapImageStore(
      createLocalImageStore({ dataDir: options.dataDir, publicUrl, secret: imageUrlSecret }),
    ),
    clock,
    logger,
    chain,
    channels: channelPayments,
  });
  logger.info('listening', {
    url,
    network: options.network,
    facilitator: options.facilitatorUrl,
    generator: imageGenerator.name,
  });

  return {
    url,
    dynamodbEndpoint: endpoint,
    channels:
      channelPayments === undefined || channelClaims === undefined
        ? undefined
        : { payments: channelPayments, claims: channelClaims },
    stop: async () => {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        if ('closeAllConnections' in server) server.closeAllConnections();
      });
      // Claim and settle what the channels were charged before the store goes away.
      await channelClaims?.stop();
      if (ownGenerator instanceof LocalImageGenerator) await ownGenerator.close();
      dynamo?.destroy();
      await localDynamo?.stop();
    },
  };
}

/**
 * Without IMAGE_URL_SECRET the local gateway keeps a random one under DATA_DIR (owner-only file), so
 * image links handed out before a restart keep working after it, like the images themselves.
 */
function localImageUrlSecret(dataDir: string): string {
  const path = join(dataDir, 'image-url.secret');
  try {
    const existing = readFileSync(path, 'utf8').trim();
    if (existing.length >= 32) return existing;
  } catch {
    // not created yet
  }
  mkdirSync(dataDir, { recursive: true });
  const secret = randomBytes(32).toString('hex');
  writeFileSync(path, secret, { mode: 0o600 });
  return secret;
}
