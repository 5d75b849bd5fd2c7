import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { BedrockAgentCoreClient } from '@aws-sdk/client-bedrock-agentcore';
import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { AgentCoreSessionMemory } from '../../../packages/agent/src/agentcore-session-memory.ts';
import { startAgent } from '../../../packages/agent/src/start-agent.ts';
import type { AgentWallet } from '../../../packages/agent/src/wallet.ts';
import { createDynamoDbPaymentStore } from '../../../packages/gateway/src/dynamodb-payment-store.ts';
import { startLocalDynamo } from '../../../packages/gateway/src/local-dynamo.ts';
import type { LedgerRecord } from '../../../packages/gateway/src/payment-store.ts';
import { createS3ImageStore as createGatewayImageStore } from '../../../packages/gateway/src/s3-image-store.ts';
import { createBedrockRuntimeClient } from '../../../packages/imaging/src/bedrock-client.ts';
import { ClaudeVisionAnalyzer } from '../../../packages/imaging/src/claude-vision-analyzer.ts';
import { LocalImageAnalyzer } from '../../../packages/imaging/src/local-image-analyzer.ts';
import { LocalImageGenerator } from '../../../packages/imaging/src/local-image-generator.ts';
import { NovaCanvasGenerator } from '../../../packages/imaging/src/nova-canvas-generator.ts';
import { jsonReply, startFakeBedrock } from '../../../packages/imaging/test/fake-bedrock-server.ts';
import { createAgentCoreInvoker } from '../../../packages/realtime/src/adapters/agentcore-agent-invoker.ts';
import { createApiGatewayMessenger } from '../../../packages/realtime/src/adapters/api-gateway-messenger.ts';
import { createDynamoConnectionStore } from '../../../packages/realtime/src/adapters/dynamodb-connection-store.ts';
import { createS3ImageStore as createSessionImageStore } from '../../../packages/realtime/src/adapters/s3-image-store.ts';
import { createConnectHandler } from '../../../packages/realtime/src/connect-handler.ts';
import { createDefaultHandler } from '../../../packages/realtime/src/default-handler.ts';
import { createDisconnectHandler } from '../../../packages/realtime/src/disconnect-handler.ts';
import { LOCAL_CREDENTIALS, startLocalS3 } from '../../../packages/realtime/src/local/local-engines.ts';
import {
  buildConnectEvent,
  buildDisconnectEvent,
  buildMessageEvent,
} from '../../../packages/realtime/test/events.ts';
import { agentReply } from '../../../packages/realtime/test/fake-agent.ts';
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
  const table = context.ref(app.realtime.connectionsTable);
  const dynamo = await localDynamo(context, table, 'connectionId');
  const store = (client: DynamoDBClient) =>
    createDynamoConnectionStore({
      client: DynamoDBDocumentClient.from(client),
      tableName: table,
      clock: { now: Date.now },
    });
  return { recorded: () => store(dynamo.recorded()), unrecorded: () => store(dynamo.unrecorded()) };
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

/**
 * packages/realtime's `$default` handler with every cloud adapter: connection store (dynalite),
 * session image store (s3rver), AgentCore invoker (stand-in runtime) and the API Gateway messenger
 * (stand-in management API, reached through the recording request handler so the messenger builds
 * its client exactly as in Lambda, from the event's domain name and stage).
 */
export const driveAgentTurn: Drive = async (context, app) => {
  const apiId = context.ref(app.realtime.api);
  const connections = await connectionsTable(context, app);
  const connectionId = 'Vv0bJdQxoAMCKzQ=';
  const domainName = `${apiId}.execute-api.${context.region}.amazonaws.com`;
  // Registered as $connect does it; that call belongs to the $connect role, so it is not recorded.
  await connections.unrecorded().put({
    connectionId,
    connectedAt: Date.now(),
    ttl: Math.floor(Date.now() / 1000) + 3600,
    domainName,
    stage: 'prod',
  });
  const bucket = context.ref(app.realtime.images.bucket);
  const agentCore = await startFakeAgentCore(() => agentReply({ session_id: 'contract-session' }));
  context.defer(() => agentCore.stop());
  const management = await startFakeManagementApi();
  context.defer(() => management.stop());
  const environment = context.environment(app.realtime.node.findChild('AgentTurn'));
  const handler = createDefaultHandler({
    connections: connections.recorded(),
    agent: createAgentCoreInvoker({
      client: recordCalls(
        new BedrockAgentCoreClient({ region: context.region, endpoint: agentCore.url, ...SDK_LOCAL }),
        context.sink,
      ),
      agentRuntimeArn: environment.AGENT_RUNTIME_ARN ?? '',
      qualifier: environment.AGENT_RUNTIME_QUALIFIER,
    }),
    images: createSessionImageStore({ client: await localS3(context, bucket), bucket, urlTtlSeconds: 3600 }),
    messenger: createApiGatewayMessenger({
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
    }),
    clock: { now: Date.now },
    logger: silent,
    settings: { maxFrameBytes: 32_768, progressIntervalMs: 60_000, agentTimeoutMs: 10_000 },
  });
  const event = buildMessageEvent(
    JSON.stringify({ input: { prompt: 'an image please' }, session_id: 'contract-session' }),
    {
      context: { connectionId, domainName, stage: 'prod', apiId },
    },
  );
  const result = await handler(event);
  if (result.statusCode !== 200)
    throw new Error(`drive: $default answered ${result.statusCode}: ${result.body}`);
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
  const agent = await startAgent({
    env,
    port: 0,
    host: '127.0.0.1',
    agentWallet: testWallet,
    // As start-agent.ts builds it for MEMORY_ID, with a client pointed at the stand-in.
    sessionMemory: new AgentCoreSessionMemory({
      client: recordCalls(
        new BedrockAgentCoreClient({ region, endpoint: agentCore.url, ...SDK_LOCAL }),
        context.sink,
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
  const response = await fetch(`${agent.url}/invocations`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ input: { prompt: 'Hello' }, session_id: `contract-session-${randomUUID()}` }),
  });
  if (response.status !== 200)
    throw new Error(`drive: agent turn answered ${response.status}: ${await response.text()}`);
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
/** cdk/lambda/facilitator-handler.ts (ownFacilitator). */
export const driveFacilitatorSecret = driveSecretEnv(
  (app) => app.facilitator?.node.findChild('Facilitator'),
  'FACILITATOR_PRIVATE_KEY_SECRET_ARN',
  ['FACILITATOR_PRIVATE_KEY'],
);
