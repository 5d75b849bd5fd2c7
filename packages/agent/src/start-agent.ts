import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { createImageAnalyzer, type ImageAnalyzer } from '@agentic-payments/imaging';
import { AppError, createJsonLogger, logEntriesTo } from '@agentic-payments/x402';
import { BedrockAgentCoreClient } from '@aws-sdk/client-bedrock-agentcore';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { serve } from '@hono/node-server';
import { z } from 'zod';
import { AgentRuntime } from './agent-runtime.ts';
import { AgentCoreSessionMemory } from './agentcore-session-memory.ts';
import { createApp } from './app.ts';
import { type AgentConfig, loadConfig, type WalletConfig } from './config.ts';
import { createDynamoDbWalletBudgetStore } from './dynamodb-wallet-budget-store.ts';
import { FileSessionMemory } from './file-session-memory.ts';
import { createFileWalletBudgetStore } from './file-wallet-budget-store.ts';
import { createModelFactory, type ModelFactory } from './models.ts';
import { OFFLINE_PLANNER_NOTE } from './offline-planner.ts';
import type { AgentDeps } from './session-context.ts';
import type { SessionMemory } from './session-memory.ts';
import { type AgentWallet, createAgentWallet } from './wallet.ts';
import { WalletBudget, type WalletBudgetStore, walletBudgetKey } from './wallet-budget.ts';

export interface StartAgentOptions extends Partial<AgentConfig> {
  /** Environment to parse for everything not given explicitly (default: an empty env, i.e. the devnet defaults). */
  env?: Record<string, string | undefined>;
  /** Injected adapters (tests); the defaults come from the config. */
  agentWallet?: AgentWallet;
  sessionMemory?: SessionMemory;
  budgetStore?: WalletBudgetStore;
  analyzer?: ImageAnalyzer;
  fetch?: typeof globalThis.fetch;
  now?: () => Date;
  log?: (entry: Record<string, unknown>) => void;
  /** A model to use instead of the configured one (tests). */
  modelFactory?: ModelFactory;
  /** Extra BedrockRuntimeClient config for the Bedrock model (e.g. a local endpoint in tests). */
  bedrockClientConfig?: Record<string, unknown>;
}

export interface RunningAgent {
  url: string;
  config: AgentConfig;
  runtime: AgentRuntime;
  stop(): Promise<void>;
}

const CdpSecret = z.object({
  CDP_API_KEY_ID: z.string().min(1),
  CDP_API_KEY_SECRET: z.string().min(1),
  CDP_WALLET_SECRET: z.string().min(1),
});

/** In the cloud the CDP credentials live in Secrets Manager, never in plain environment variables. */
async function resolveWallet(config: AgentConfig): Promise<Exclude<WalletConfig, { kind: 'cdp-secret' }>> {
  if (config.wallet.kind !== 'cdp-secret') return config.wallet;
  const client = new SecretsManagerClient({ region: config.region });
  const secret = await client.send(new GetSecretValueCommand({ SecretId: config.wallet.secretArn }));
  const parsed = CdpSecret.safeParse(JSON.parse(secret.SecretString ?? '{}'));
  if (!parsed.success) {
    throw new AppError(
      'invalid_config',
      'CDP_SECRET_ARN: the secret must hold CDP_API_KEY_ID, CDP_API_KEY_SECRET and CDP_WALLET_SECRET',
      {
        httpStatus: 500,
      },
    );
  }
  return {
    kind: 'cdp',
    apiKeyId: parsed.data.CDP_API_KEY_ID,
    apiKeySecret: parsed.data.CDP_API_KEY_SECRET,
    walletSecret: parsed.data.CDP_WALLET_SECRET,
  };
}

/** The project's one logger (secret-looking keys dropped), fed the agent's `{ event, ...fields }` entries. */
const jsonLogger = logEntriesTo(createJsonLogger({ service: 'agent' }));

/**
 * Starts the agent's AgentCore runtime server (Hono on Node).
 *
 * @example
 * const agent = await startAgent({ port: 0, gatewayUrl, rpcUrl, dataDir });
 * await fetch(`${agent.url}/invocations`, { method: 'POST', body: JSON.stringify({ input: { prompt: 'hi' }, session_id: 's1' }) });
 * await agent.stop();
 */
export async function startAgent(options: StartAgentOptions = {}): Promise<RunningAgent> {
  const {
    env,
    agentWallet: injectedWallet,
    sessionMemory: injectedMemory,
    budgetStore: injectedBudgetStore,
    analyzer: injectedAnalyzer,
    fetch,
    now,
    log,
    bedrockClientConfig,
    modelFactory,
    ...overrides
  } = options;
  const defined = Object.fromEntries(Object.entries(overrides).filter(([, value]) => value !== undefined));
  const config: AgentConfig = { ...loadConfig(env ?? {}), ...defined };
  const logger = log ?? jsonLogger;

  const wallet =
    injectedWallet ??
    (await createAgentWallet({
      wallet: await resolveWallet(config),
      network: config.network,
      rpcUrl: config.rpcUrl,
    }));
  const memory =
    injectedMemory ??
    (config.memory.kind === 'agentcore'
      ? new AgentCoreSessionMemory({
          client: new BedrockAgentCoreClient({ region: config.memory.region }),
          memoryId: config.memory.memoryId,
        })
      : new FileSessionMemory(join(config.dataDir, 'agent')));
  const budgetStore =
    injectedBudgetStore ??
    (config.walletBudgetStore.kind === 'dynamodb'
      ? createDynamoDbWalletBudgetStore({
          client: new DynamoDBClient({ region: config.walletBudgetStore.region }),
          tableName: config.walletBudgetStore.tableName,
        })
      : createFileWalletBudgetStore(join(config.dataDir, 'wallet-budget')));
  const analyzer =
    injectedAnalyzer ?? createImageAnalyzer({ kind: config.imageAnalyzer, region: config.region });
  const model =
    modelFactory ?? (await createModelFactory(config, bedrockClientConfig ? { bedrockClientConfig } : {}));

  const deps: AgentDeps = {
    config,
    policy: {
      network: config.network,
      sellerAddress: config.sellerAddress,
      maxPayment: config.maxPayment,
      sessionBudget: config.sessionBudget,
      walletBudget24h: config.walletBudget24h,
    },
    budget: new WalletBudget(budgetStore, {
      walletKey: walletBudgetKey(config.network.caip2, wallet.address),
      cap: config.walletBudget24h,
      ...(now ? { now } : {}),
    }),
    wallet,
    analyzer,
    fetch: fetch ?? globalThis.fetch,
    now: now ?? (() => new Date()),
    newId: randomUUID,
    log: logger,
  };
  const runtime = new AgentRuntime(deps, memory, model);
  const app = createApp({ runtime, log: logger });

  const server = await new Promise<ReturnType<typeof serve>>((resolve, reject) => {
    const s = serve({ fetch: app.fetch, port: config.port, hostname: config.host }, () => resolve(s));
    s.once('error', reject);
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  const host = config.host === '0.0.0.0' || config.host === '::' ? '127.0.0.1' : config.host;
  const url = `http://${host}:${port}`;
  let stopping: Promise<void> | undefined;
  logger({
    event: 'agent_started',
    url,
    model: model.id,
    ...(model.isLlm ? {} : { model_note: OFFLINE_PLANNER_NOTE }),
    wallet: wallet.address,
    wallet_provider: wallet.provider,
    network: config.network.id,
    gateway: config.gatewayUrl,
    memory: memory.kind,
    wallet_budget_store: budgetStore.kind,
    wallet_budget_24h: config.walletBudget24h.toString(),
    consent_mode: config.consentMode,
    analyzer: analyzer.name,
  });
  return {
    url,
    config,
    runtime,
    stop: () => {
      // Idempotent: a second stop() resolves with the first.
      stopping ??= new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        if ('closeAllConnections' in server) server.closeAllConnections();
      });
      return stopping;
    },
  };
}
