import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { BedrockAgentCoreClient } from '@aws-sdk/client-bedrock-agentcore';
import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { S3Client } from '@aws-sdk/client-s3';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { AgentCoreSessionMemory } from '../../../packages/agent/src/agentcore-session-memory.ts';
import { createDynamoDbWalletBudgetStore } from '../../../packages/agent/src/dynamodb-wallet-budget-store.ts';
import { startAgent } from '../../../packages/agent/src/start-agent.ts';
import type { AgentWallet } from '../../../packages/agent/src/wallet.ts';
import { WalletBudget, walletBudgetKey } from '../../../packages/agent/src/wallet-budget.ts';
import { startChannelClaims } from '../../../packages/gateway/src/channel-claims.ts';
import { createChannelPayments } from '../../../packages/gateway/src/channel-payments.ts';
import { createChannelStorage } from '../../../packages/gateway/src/channel-storage.ts';
import { createDynamoDbPaymentStore } from '../../../packages/gateway/src/dynamodb-payment-store.ts';
import { startLocalDynamo } from '../../../packages/gateway/src/local-dynamo.ts';
import { createMemoryLogger } from '../../../packages/gateway/src/logger.ts';
import type { LedgerRecord } from '../../../packages/gateway/src/payment-store.ts';
import { createS3ImageStore as createGatewayImageStore } from '../../../packages/gateway/src/s3-image-store.ts';
import { acceptingFacilitator, chargedChannel } from '../../../packages/gateway/test/channel-fixtures.ts';
import { createBedrockRuntimeClient } from '../../../packages/imaging/src/bedrock-client.ts';
import { ClaudeVisionAnalyzer } from '../../../packages/imaging/src/claude-vision-analyzer.ts';
import { LocalImageAnalyzer } from '../../../packages/imaging/src/local-image-analyzer.ts';
import { LocalImageGenerator } from '../../../packages/imaging/src/local-image-generator.ts';
import { NovaCanvasGenerator } from '../../../packages/imaging/src/nova-canvas-generator.ts';
import { jsonReply, startFakeBedrock } from '../../../packages/imaging/test/fake-bedrock-server.ts';
import { createAgentCoreInvoker } from '../../../packages/realtime/src/adapters/agentcore-agent-invoker.ts';
import { createApiGatewayMessenger } from '../../../packages/realtime/src/adapters/api-gateway-messenger.ts';
import { createDynamoConnectionStore } from '../../../packages/realtime/src/adapters/dynamodb-connection-store.ts';
import { createDynamoTurnRegistry } from '../../../packages/realtime/src/adapters/dynamodb-turn-registry.ts';
import { createLambdaTurnDispatcher } from '../../../packages/realtime/src/adapters/lambda-turn-dispatcher.ts';
import { createS3ImageStore as createSessionImageStore } from '../../../packages/realtime/src/adapters/s3-image-store.ts';
import { createConnectHandler } from '../../../packages/realtime/src/connect-handler.ts';
import { createDefaultHandler } from '../../../packages/realtime/src/default-handler.ts';
import { createDisconnectHandler } from '../../../packages/realtime/src/disconnect-handler.ts';
import { LOCAL_CREDENTIALS, startLocalS3 } from '../../../packages/realtime/src/local/local-engines.ts';
import { startLocalLambda } from '../../../packages/realtime/src/local/local-lambda.ts';
import { createTurnWorker } from '../../../packages/realtime/src/turn-worker.ts';
import {
  buildConnectEvent,
  buildDisconnectEvent,
  buildMessageEvent,
} from '../../../packages/realtime/test/events.ts';
import { agentReply } from '../../../packages/realtime/test/fake-agent.ts';
import { getNetwork } from '../../../packages/x402/src/networks.ts';
import { FACILITATOR_SECRET_ARNS, loadFacilitatorSecrets } from '../../lambda/facilitator-secrets.ts';
import { loadSecretIntoEnv } from '../../lambda/secret-env.ts';
import { type CallSink, recordCalls, recordingRequestHandler } from './aws-calls.ts';
import {
  startFakeAgentCore,
  startFakeConverseStream,
  startFakeManagementApi,
  startFakeSecretsManager,
} from './local-fakes.ts';

/** What a drive gets: stand-in names of the app's resources, a sink for its calls, a scratch dir. */
export interface DriveContext {
  /** The region every stand-in lives in (the app's default region). */
  readonly region: string;
  /** Stand-in physical values: `Ref` / `Fn::GetAtt` of the resource behind a construct. */
  readonly ref: (construct: unknown) => string;
  readonly getAtt: (construct: unknown, attribute: string) => string;
  /** Environment of a Lambda or the runtime as synthesized, every token resolved to its stand-in. */
  readonly environment: (construct: unknown) => Record<string, string>;
  readonly sink: CallSink;
  readonly scratch: string;
  /** Runs after the drive, even when it fails. */
  readonly defer: (cleanup: () => Promise<void> | void) => void;
}

export type Drive = (
  context: DriveContext,
  app: import('../../lib/app.ts').AgenticPaymentsApp,
) => Promise<void>;

const SDK_LOCAL = { credentials: LOCAL_CREDENTIALS, maxAttempts: 1 } as const;
const silent = { info() {}, warn() {}, error() {} };

async function localDynamo(context: DriveContext, table: string, key: string) {
  const dynamo = await startLocalDynamo({ port: 0 });
  context.defer(() => dynamo.stop());
  const setup = new DynamoDBClient({ region: context.region, endpoint: dynamo.endpoint, ...SDK_LOCAL });
  await setup.send(
    new CreateTableCommand({
      TableName: table,
      AttributeDefinitions: [{ AttributeName: key, AttributeType: 'S' }],
      KeySchema: [{ AttributeName: key, KeyType: 'HASH' }],
      BillingMode: 'PAY_PER_REQUEST',
    }),
  );
  setup.destroy();
  const client = () =>
    new DynamoDBClient({ region: context.region, endpoint: dynamo.endpoint, ...SDK_LOCAL });
  return { recorded: () => recordCalls(client(), context.sink), unrecorded: client };
}

async function localS3(context: DriveContext, bucket: string) {
  const s3 = await startLocalS3({ directory: join(context.scratch, `s3-${bucket}`), bucket });
  context.defer(() => s3.stop());
  return recordCalls(
    new S3Client({
      region: context.region,
      endpoint: s3.endpoint,
      forcePathStyle: true,
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      ...SDK_LOCAL,
    }),
    context.sink,
  );
}

/** packages/gateway's DynamoDB payment store, every port method, conflicts included (dynalite). */
export const drivePaymentStore: Drive = async (context, app) => {
  const table = context.ref(app.gateway.paymentTable);
  const { recorded } = await localDynamo(context, table, 'pk');
  const store = createDynamoDbPaymentStore({ client: recorded(), tableName: table });
  const now = Date.now();
  const record: LedgerRecord = {
    key: 'purchase:request-1',
    kind: 'purchase',
    state: 'pending',
    version: 1,
    holder: 'holder-1',
    requestId: 'r-1',
    fingerprint: 'f-1',
    leaseUntil: now + 60_000,
    expiresAt: now + 3_600_000,
    createdAt: now,
  };
  const first = await store.create(record, now);
  if (!first.created) throw new Error('drive: first create refused');
  // A second holder of the same key: the conditional put fails and the store reads what holds it.
  if ((await store.create({ ...record, holder: 'holder-2' }, now)).created)
    throw new Error('drive: a second create of a live key succeeded');
  const settling = { ...record, state: 'settling' as const, version: 2, leaseUntil: now + 120_000 };
  if (!(await store.replace(settling, 1)).replaced) throw new Error('drive: replace refused');
  // A stale version: the condition fails.
  if ((await store.replace({ ...settling, version: 2 }, 1)).replaced)
    throw new Error('drive: a stale replace succeeded');
  await store.put({
    ...settling,
    state: 'settled',
    version: 3,
    receipt: {
      transaction: `0x${'ab'.repeat(32)}`,
      payer: `0x${'11'.repeat(20)}`,
      network: 'eip155:84532',
      atomicAmount: '40000',
      imageId: randomUUID(),
      mimeType: 'image/png',
      settledAt: now,
    },
  });
  if ((await store.get(record.key, now)) === undefined) throw new Error('drive: the settled record is gone');
  const other = { ...record, key: 'purchase:request-2' };
  await store.create(other, now);
  if ((await store.remove(other.key, 7)) !== false) throw new Error('drive: a stale remove succeeded');
  if (!(await store.remove(other.key, 1))) throw new Error('drive: remove refused');
};

/** packages/gateway's S3 image store: put, get, get of a missing image (the takeover path), presign (s3rver). */
export const driveGatewayImages: Drive = async (context, app) => {
  const bucket = context.ref(app.gateway.images.bucket);
  const store = createGatewayImageStore({ client: await localS3(context, bucket), bucket, now: Date.now });
  const id = randomUUID();
  await store.put(id, { bytes: new Uint8Array([137, 80, 78, 71]), mimeType: 'image/png' });
  await store.get(id);
  if ((await store.get(randomUUID())) !== undefined) throw new Error('drive: a missing image was found');
  await store.url(id, Date.now() + 3_600_000);
};

/** packages/imaging's Nova Canvas generator as the gateway Lambda builds it (default model). */
export const driveNovaCanvas: Drive = async (context) => {
  const fake = await startFakeBedrock();
  context.defer(() => fake.stop());
  const png = (
    await new LocalImageGenerator().generate({
      prompt: 'a lighthouse',
      width: 512,
      height: 512,
      quality: 'standard',
    })
  ).png;
  fake.reply(() => jsonReply({ images: [Buffer.from(png).toString('base64')] }));
  const client = recordCalls(
    createBedrockRuntimeClient({ region: context.region, endpoint: fake.url, ...SDK_LOCAL }),
    context.sink,
  );
  await new NovaCanvasGenerator({ client }).generate({
    prompt: 'a lighthouse',
    width: 512,
    height: 512,
    quality: 'standard',
  });
};

async function connectionsTable(context: DriveContext, app: Parameters<Drive>[1]) {
  return (await realtimeTable(context, app)).connections;
}

/** packages/realtime's `$connect` handler with its DynamoDB connection store (dynalite). */
export const driveConnect: Drive = async (context, app) => {
  const connections = await connectionsTable(context, app);
  const handler = createConnectHandler({
    connections: connections.recorded(),
    clock: { now: Date.now },
    logger: silent,
    connectionTtlSeconds: 7200,
  });
  const result = await handler(buildConnectEvent());
  if (result.statusCode !== 200) throw new Error(`drive: $connect answered ${result.statusCode}`);
};

/** packages/realtime's `$disconnect` handler with its DynamoDB connection store (dynalite). */
export const driveDisconnect: Drive = async (context, app) => {
  const connections = await connectionsTable(context, app);
  await createDisconnectHandler({ connections: connections.recorded(), logger: silent })(
    buildDisconnectEvent(),
  );
};

/** The realtime table as both realtime routes use it: connection records and `turn#<session>` records. */
async function realtimeTable(context: DriveContext, app: Parameters<Drive>[1]) {
  const table = context.ref(app.realtime.connectionsTable);
  const dynamo = await localDynamo(context, table, 'connectionId');
  const documents = (client: DynamoDBClient) => DynamoDBDocumentClient.from(client);
  const connections = (client: DynamoDBClient) =>
    createDynamoConnectionStore({ client: documents(client), tableName: table, clock: { now: Date.now } });
  const turns = (client: DynamoDBClient) =>
    createDynamoTurnRegistry({ client: documents(client), tableName: table, leaseSeconds: 900 });
  return {
    connections: {
      recorded: () => connections(dynamo.recorded()),
      unrecorded: () => connections(dynamo.unrecorded()),
    },
    turns: { recorded: () => turns(dynamo.recorded()), unrecorded: () => turns(dynamo.unrecorded()) },
  };
}

/** A registered connection, as `$connect` writes it (that call belongs to the $connect role: unrecorded). */
async function registeredConnection(
  context: DriveContext,
  app: Parameters<Drive>[1],
  connections: ReturnType<typeof createDynamoConnectionStore>,
) {
  const apiId = context.ref(app.realtime.api);
  const target = {
    connectionId: 'Vv0bJdQxoAMCKzQ=',
    domainName: `${apiId}.execute-api.${context.region}.amazonaws.com`,
    stage: 'prod',
  };
  await connections.put({ ...target, connectedAt: Date.now(), ttl: Math.floor(Date.now() / 1000) + 3600 });
  return { apiId, target };
}

/**
 * The API Gateway messenger as the Lambdas build it (endpoint from the event's domain name and
 * stage), its requests sent to the stand-in management API by the recording request handler.
 */
async function recordedMessenger(context: DriveContext) {
  const management = await startFakeManagementApi();
  context.defer(() => management.stop());
  return createApiGatewayMessenger({
    clientConfig: {
      region: context.region,
      ...SDK_LOCAL,
      requestHandler: recordingRequestHandler({
        target: management.url,
        region: context.region,
        forward: new NodeHttpHandler(),
        sink: context.sink,
      }) as never,
    },
  });
}

/**
 * packages/realtime's `$default` handler with every cloud adapter, from the function's synthesized
 * environment: connection check and conditional turn record (dynalite), the asynchronous Invoke of
 * the turn worker (the local Lambda Invoke stand-in), `processing` through the Management API. A
 * second message of the same session is refused by the record; a turn whose worker cannot be started
 * releases its record (DeleteItem).
 */
export const driveDefaultRoute: Drive = async (context, app) => {
  const table = await realtimeTable(context, app);
  const { apiId, target } = await registeredConnection(context, app, table.connections.unrecorded());
  const environment = context.environment(app.realtime.node.findChild('DefaultRoute'));
  const workerName = environment.TURN_WORKER_FUNCTION ?? '';
  const queued: unknown[] = [];
  const lambda = await startLocalLambda({
    functions: { [workerName]: async (event) => void queued.push(event) },
  });
  context.defer(() => lambda.stop());
  // A Lambda endpoint where the worker is not (yet) deployed: Invoke answers ResourceNotFound.
  const lambdaWithoutWorker = await startLocalLambda({ functions: {} });
  context.defer(() => lambdaWithoutWorker.stop());
  const messenger = await recordedMessenger(context);
  const handlerFor = (endpoint: string) =>
    createDefaultHandler({
      connections: table.connections.recorded(),
      turns: table.turns.recorded(),
      dispatcher: createLambdaTurnDispatcher({
        client: recordCalls(
          new LambdaClient({ region: context.region, endpoint, ...SDK_LOCAL }),
          context.sink,
        ),
        functionName: workerName,
      }),
      messenger,
      clock: { now: Date.now },
      logger: silent,
      newTurnId: randomUUID,
      settings: { maxFrameBytes: 32_768 },
    });
  const message = (sessionId: string) =>
    buildMessageEvent(JSON.stringify({ input: { prompt: 'an image please' }, session_id: sessionId }), {
      context: { ...target, apiId },
    });
  const accepted = await handlerFor(lambda.endpoint)(message('contract-session'));
  if (accepted.body !== 'accepted') throw new Error(`drive: $default answered ${accepted.body}`);
  const busy = await handlerFor(lambda.endpoint)(message('contract-session'));
  if (busy.body !== 'turn_in_progress') throw new Error(`drive: a second turn answered ${busy.body}`);
  const unstarted = await handlerFor(lambdaWithoutWorker.endpoint)(message('contract-session-2'));
  if (unstarted.body !== 'agent_unavailable')
    throw new Error(`drive: a turn whose worker is missing answered ${unstarted.body}`);
  if (queued.length !== 1) throw new Error(`drive: the worker got ${queued.length} turns, not 1`);
};

/**
 * packages/realtime's turn worker with every cloud adapter, from its synthesized environment: the
 * conditional start and the release of the turn record (dynalite), InvokeAgentRuntime on the runtime
 * ARN and qualifier of its environment (stand-in runtime), images to the session bucket and presigned
 * (s3rver), frames through the Management API. The turn was accepted as `$default` accepts it.
 */
export const driveTurnWorker: Drive = async (context, app) => {
  const table = await realtimeTable(context, app);
  const { target } = await registeredConnection(context, app, table.connections.unrecorded());
  const turnId = randomUUID();
  const sessionId = 'contract-session';
  // `$default`'s write, on its own role: unrecorded.
  if (
    !(await table.turns
      .unrecorded()
      .begin({ sessionId, turnId, connectionId: target.connectionId, nowMs: Date.now() }))
  )
    throw new Error('drive: the turn record was not written');
  const environment = context.environment(app.realtime.node.findChild('TurnWorker'));
  const bucket = context.ref(app.realtime.images.bucket);
  if (environment.IMAGES_BUCKET !== bucket) throw new Error('drive: the worker names another bucket');
  // The agent's reply carries one image (a data URL), which the worker moves to the bucket.
  const agentCore = await startFakeAgentCore(() => {
    const reply = agentReply();
    return { ...reply, output: { ...reply.output, session_id: sessionId } };
  });
  context.defer(() => agentCore.stop());
  const worker = createTurnWorker({
    turns: table.turns.recorded(),
    agent: createAgentCoreInvoker({
      client: recordCalls(
        new BedrockAgentCoreClient({ region: context.region, endpoint: agentCore.url, ...SDK_LOCAL }),
        context.sink,
      ),
      agentRuntimeArn: environment.AGENT_RUNTIME_ARN ?? '',
      qualifier: environment.AGENT_RUNTIME_QUALIFIER,
    }),
    images: createSessionImageStore({ client: await localS3(context, bucket), bucket, urlTtlSeconds: 3600 }),
    messenger: await recordedMessenger(context),
    clock: { now: Date.now },
    logger: silent,
    settings: { progressIntervalMs: 60_000, agentTimeoutMs: 10_000 },
  });
  const { outcome } = await worker({
    kind: 'agent_turn',
    turnId,
    sessionId,
    prompt: 'an image please',
    connection: target,
    acceptedAt: Date.now(),
  });
  if (outcome !== 'completed') throw new Error(`drive: the turn worker ended ${outcome}`);
};

const STAND_IN_SELLER = '0x90F79bf6EB2c4f870365E785982E1f101E93b906';

/** TEST ONLY: fixed balances, never signs (the contract's turn pays nothing). */
const testWallet: AgentWallet = {
  provider: 'contract-test-wallet',
  address: '0x70997970C51812dc3A010C7d01b50e0d17dc79C8',
  signTypedData: () => Promise.reject(new Error('test wallet does not sign')),
  balances: async () => ({ eth: 0n, usdc: 1_000_000n }),
};

/** The runtime's environment as synthesized; the seller address is an SSM value at deploy time. */
function agentEnvironment(context: DriveContext, app: Parameters<Drive>[1]): Record<string, string> {
  return {
    ...context.environment(app.agent.runtime),
    SELLER_ADDRESS: STAND_IN_SELLER,
    DATA_DIR: join(context.scratch, `agent-${randomUUID()}`),
  };
}

/**
 * packages/agent as the runtime starts it from its synthesized environment (model id, region,
 * memory id): one chat turn through Strands' BedrockModel (ConverseStream, recorded on the wire) with
 * AgentCore Memory load and save (recorded by middleware). The wallet is a test double: its CDP
 * secret read is the next drive.
 */
export const driveAgentRuntime: Drive = async (context, app) => {
  const env = agentEnvironment(context, app);
  const region = env.AWS_REGION ?? context.region;
  const converse = await startFakeConverseStream();
  context.defer(() => converse.stop());
  const agentCore = await startFakeAgentCore(() => ({}));
  context.defer(() => agentCore.stop());
  const memoryCalls: string[] = [];
  const memorySink: CallSink = (call) => {
    memoryCalls.push(call.operation);
    context.sink(call);
  };
  // The wallet-wide budget as start-agent builds it for WALLET_BUDGET_TABLE, on a local table.
  const budgetTable = env.WALLET_BUDGET_TABLE ?? '';
  const budgetDynamo = await localDynamo(context, budgetTable, 'pk');
  const agent = await startAgent({
    env,
    port: 0,
    host: '127.0.0.1',
    agentWallet: testWallet,
    budgetStore: createDynamoDbWalletBudgetStore({ client: budgetDynamo.recorded(), tableName: budgetTable }),
    // As start-agent.ts builds it for MEMORY_ID, with a client pointed at the stand-in.
    sessionMemory: new AgentCoreSessionMemory({
      client: recordCalls(
        new BedrockAgentCoreClient({ region, endpoint: agentCore.url, ...SDK_LOCAL }),
        memorySink,
      ),
      memoryId: env.MEMORY_ID ?? '',
    }),
    analyzer: new LocalImageAnalyzer(),
    log: () => {},
    bedrockClientConfig: {
      credentials: LOCAL_CREDENTIALS,
      maxAttempts: 1,
      requestHandler: recordingRequestHandler({
        target: converse.url,
        region,
        forward: new NodeHttpHandler(),
        sink: context.sink,
      }),
    },
  });
  context.defer(() => agent.stop());
  // Two turns of one session: the second save replaces the first snapshot (CreateEvent, DeleteEvent).
  const sessionId = `contract-session-${randomUUID()}`;
  for (const prompt of ['Hello', 'What can you do?']) {
    const response = await fetch(`${agent.url}/invocations`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ input: { prompt }, session_id: sessionId }),
    });
    if (response.status !== 200)
      throw new Error(`drive: agent turn answered ${response.status}: ${await response.text()}`);
  }
  if (!memoryCalls.includes('DeleteEvent'))
    throw new Error(`drive: the memory calls were ${memoryCalls.join(', ')}, with no DeleteEvent`);
};

/**
 * packages/agent's DynamoDB wallet-budget store under WalletBudget, as start-agent builds it from
 * WALLET_BUDGET_TABLE: reserves (two at once, so one conditional put loses and retries), settle,
 * release, status (dynalite).
 */
export const driveWalletBudget: Drive = async (context, app) => {
  const table = agentEnvironment(context, app).WALLET_BUDGET_TABLE ?? '';
  if (table !== context.ref(app.agent.walletBudgetTable))
    throw new Error('drive: the runtime names another wallet-budget table');
  const { recorded } = await localDynamo(context, table, 'pk');
  const budget = new WalletBudget(createDynamoDbWalletBudgetStore({ client: recorded(), tableName: table }), {
    walletKey: walletBudgetKey('eip155:84532', testWallet.address),
    cap: 100_000n,
  });
  const [first, second] = await Promise.all([budget.reserve('n-1', 40_000n), budget.reserve('n-2', 40_000n)]);
  if (!first.ok || !second.ok) throw new Error('drive: a reservation within the cap was refused');
  if ((await budget.reserve('n-3', 40_000n)).ok) throw new Error('drive: a reservation over the cap passed');
  await budget.settle('n-1');
  await budget.release('n-2');
  if ((await budget.status()).spent !== 40_000n) throw new Error('drive: the budget lost an update');
};

/** packages/imaging's Claude vision analyzer as the agent builds it (createImageAnalyzer, bedrock). */
export const driveImageAnalyzer: Drive = async (context, app) => {
  const fake = await startFakeBedrock();
  context.defer(() => fake.stop());
  fake.reply(() =>
    jsonReply({
      output: { message: { role: 'assistant', content: [{ text: '{}' }] } },
      stopReason: 'end_turn',
      usage: { inputTokens: 1, outputTokens: 1, totalTokens: 2 },
    }),
  );
  const png = (
    await new LocalImageGenerator().generate({
      prompt: 'a lighthouse',
      width: 512,
      height: 512,
      quality: 'standard',
    })
  ).png;
  const client = recordCalls(
    createBedrockRuntimeClient({ region: context.region, endpoint: fake.url, ...SDK_LOCAL }),
    context.sink,
  );
  // The reply carries no assessment; the call (what IAM sees) is made either way.
  await new ClaudeVisionAnalyzer({
    client,
    modelId: context.environment(app.agent.runtime).BEDROCK_MODEL_ID ?? '',
  })
    .analyze({ png, prompt: 'a lighthouse' })
    .catch(() => undefined);
};

/** Runs `body` with the SDK's service endpoint for Secrets Manager (and dummy keys) in process.env. */
async function withSecretsEndpoint(url: string, body: () => Promise<void>): Promise<void> {
  const names = ['AWS_ENDPOINT_URL_SECRETS_MANAGER', 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY'] as const;
  const saved = names.map((name) => process.env[name]);
  process.env.AWS_ENDPOINT_URL_SECRETS_MANAGER = url;
  process.env.AWS_ACCESS_KEY_ID = LOCAL_CREDENTIALS.accessKeyId;
  process.env.AWS_SECRET_ACCESS_KEY = LOCAL_CREDENTIALS.secretAccessKey;
  try {
    await body();
  } finally {
    names.forEach((name, i) => {
      if (saved[i] === undefined) delete process.env[name];
      else process.env[name] = saved[i];
    });
  }
}

/**
 * packages/agent reading its CDP credentials by the secret ARN of its environment. start-agent.ts
 * builds that client itself, so the SDK is pointed at the stand-in by its documented endpoint
 * variable and the call is recorded where it arrives. The stand-in holds the deploy-time placeholder.
 */
export const driveAgentCdpSecret: Drive = async (context, app) => {
  const env = agentEnvironment(context, app);
  const secrets = await startFakeSecretsManager({
    region: env.AWS_REGION ?? context.region,
    secretString: JSON.stringify({ CDP_API_KEY_ID: '', CDP_API_KEY_SECRET: '', CDP_WALLET_SECRET: '' }),
    sink: context.sink,
  });
  context.defer(() => secrets.stop());
  await withSecretsEndpoint(secrets.url, async () => {
    let agent: Awaited<ReturnType<typeof startAgent>> | undefined;
    try {
      agent = await startAgent({
        env,
        port: 0,
        host: '127.0.0.1',
        analyzer: new LocalImageAnalyzer(),
        log: () => {},
      });
      // An agent that listens before it resolves the wallet reads the secret on a turn.
      await fetch(`${agent.url}/invocations`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          input: { prompt: 'What are my wallet details?' },
          session_id: `contract-${randomUUID()}`,
        }),
      }).catch(() => undefined);
    } catch {
      // With the placeholder secret the agent refuses to start: the read happened first.
    } finally {
      await agent?.stop();
    }
  });
};

/** cdk/lambda/secret-env.ts as a shim runs it: one GetSecretValue on the ARN in the function's env. */
function driveSecretEnv(
  lambda: (app: Parameters<Drive>[1]) => unknown,
  arnVariable: string,
  targets: [string, ...string[]],
): Drive {
  return async (context, app) => {
    const environment = context.environment(lambda(app));
    const secrets = await startFakeSecretsManager({
      region: context.region,
      secretString: JSON.stringify(Object.fromEntries(targets.map((t) => [t, 'stand-in-value']))),
      sink: () => {},
    });
    context.defer(() => secrets.stop());
    await loadSecretIntoEnv({
      arnVariable,
      targets,
      env: { ...environment },
      client: recordCalls(
        new SecretsManagerClient({ region: context.region, endpoint: secrets.url, ...SDK_LOCAL }),
        context.sink,
      ),
    });
  };
}

/** cdk/lambda/gateway-cdp-handler.ts (facilitatorKind cdp). */
export const driveGatewayCdpSecret = driveSecretEnv((app) => app.gateway.gateway, 'CDP_SECRET_ARN', [
  'CDP_API_KEY_ID',
  'CDP_API_KEY_SECRET',
]);
/** cdk/lambda/facilitator-handler.ts (ownFacilitator): settler key, authorizer token and key. */
export const driveFacilitatorSecret: Drive = async (context, app) => {
  const environment = context.environment(app.facilitator?.node.findChild('Facilitator'));
  for (const variable of Object.values(FACILITATOR_SECRET_ARNS)) {
    if (!environment[variable]) throw new Error(`drive: the facilitator's environment lacks ${variable}`);
  }
  const secrets = await startFakeSecretsManager({
    region: context.region,
    secretString: JSON.stringify({
      FACILITATOR_PRIVATE_KEY: 'stand-in-value',
      FACILITATOR_AUTHORIZER_TOKENS: 'stand-in-value',
      FACILITATOR_RECEIVER_AUTHORIZER_KEY: 'stand-in-value',
    }),
    sink: () => {},
  });
  context.defer(() => secrets.stop());
  await loadFacilitatorSecrets({
    env: { ...environment },
    client: recordCalls(
      new SecretsManagerClient({ region: context.region, endpoint: secrets.url, ...SDK_LOCAL }),
      context.sink,
    ),
    warn: () => {},
  });
};

/** cdk/lambda/gateway-token-handler.ts (ownFacilitator: batch-settlement on). */
export const driveGatewayTokenSecret = driveSecretEnv(
  (app) => app.gateway.gateway,
  'FACILITATOR_TOKEN_SECRET_ARN',
  ['FACILITATOR_TOKEN'],
);
/** cdk/lambda/claim-handler.ts (ownFacilitator). */
export const driveClaimJobSecret = driveSecretEnv(
  (app) => app.gateway.claims,
  'FACILITATOR_TOKEN_SECRET_ARN',
  ['FACILITATOR_TOKEN'],
);

/**
 * packages/gateway's channel storage as the request path uses it, on the payment table (dynalite):
 * a deposit creates the channel (and its index shard), a voucher's reserve and commit replace it,
 * a full refund deletes it.
 */
export const driveGatewayChannels: Drive = async (context, app) => {
  const table = context.ref(app.gateway.paymentTable);
  const { recorded } = await localDynamo(context, table, 'pk');
  const storage = createChannelStorage(createDynamoDbPaymentStore({ client: recorded(), tableName: table }));
  const network = getNetwork(context.environment(app.gateway.gateway).NETWORK ?? '');
  const channel = chargedChannel({ network, receiver: STAND_IN_SELLER, charged: 40_000n, balance: 400_000n });
  await storage.updateChannel(channel.channelId, () => channel);
  await storage.updateChannel(channel.channelId, (current) =>
    current ? { ...current, chargedCumulativeAmount: '80000', signedMaxClaimable: '80000' } : current,
  );
  if ((await storage.list()).length !== 1) throw new Error('drive: the channel is not listed');
  await storage.updateChannel(channel.channelId, () => undefined);
  if ((await storage.get(channel.channelId)) !== undefined) throw new Error('drive: the channel was kept');
};

/**
 * packages/gateway's claim-lambda.ts pass as it is built from the claim job's synthesized
 * environment (table, network, withdraw delay, idle refunds), with a facilitator stand-in that
 * accepts everything: two channels the gateway charged (its writes: unrecorded), one claim of both
 * and one settle (reads, claimed totals written), the idle one refunded (deleted); a second pass
 * finds nothing due.
 */
export const driveClaimJob: Drive = async (context, app) => {
  const env = context.environment(app.gateway.claims?.function);
  const table = env.PAYMENT_TABLE ?? '';
  if (table !== context.ref(app.gateway.paymentTable)) throw new Error('drive: the job names another table');
  const { recorded, unrecorded } = await localDynamo(context, table, 'pk');
  const network = getNetwork(env.NETWORK ?? '');
  const idleSeconds = Number(env.CHANNEL_REFUND_IDLE_SECONDS);
  const charged = (salt: number, idleMs: number) =>
    chargedChannel({ network, receiver: STAND_IN_SELLER, charged: 80_000n, balance: 400_000n, salt, idleMs });
  const gatewaySide = createChannelStorage(
    createDynamoDbPaymentStore({ client: unrecorded(), tableName: table }),
  );
  for (const channel of [charged(1, 0), charged(2, (idleSeconds + 60) * 1000)])
    await gatewaySide.updateChannel(channel.channelId, () => channel);

  const logger = createMemoryLogger();
  const channels = createChannelPayments({
    storage: createChannelStorage(createDynamoDbPaymentStore({ client: recorded(), tableName: table })),
    facilitator: acceptingFacilitator(network),
    payTo: STAND_IN_SELLER,
    network,
    asset: network.usdcAddress,
    withdrawDelaySeconds: Number(env.CHANNEL_WITHDRAW_DELAY_SECONDS),
    logger,
  });
  const claims = startChannelClaims(channels.manager, { refundIdleSeconds: idleSeconds, logger });
  const run = await claims.runOnce();
  if (run.claims[0]?.vouchers !== 2 || run.settle === undefined || run.refunds.length !== 1)
    throw new Error(`drive: the claim pass did ${JSON.stringify(run)}`);
  const again = await claims.runOnce();
  if (again.claims.length > 0 || again.refunds.length > 0)
    throw new Error('drive: a second pass claimed again');
};
