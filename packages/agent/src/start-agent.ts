import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { createImageAnalyzer, type ImageAnalyzer } from '@agentic-payments/imaging';
import {
  answerClientErrorsAsJson,
  createJsonLogger,
  logEntriesTo,
  NODE_MAX_HEADER_BYTES,
} from '@agentic-payments/x402';
import { BedrockAgentCoreClient } from '@aws-sdk/client-bedrock-agentcore';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { serve } from '@hono/node-server';
import type { Hono } from 'hono';
import { AgentRuntime } from './agent-runtime.ts';
import { AgentCoreSessionMemory } from './agentcore-session-memory.ts';
import { createApp } from './app.ts';
import { resolveWallet, walletFailure } from './cdp-secret.ts';
import { type AgentConfig, loadConfig } from './config.ts';
import { createDynamoDbWalletBudgetStore } from './dynamodb-wallet-budget-store.ts';
import { FileSessionMemory } from './file-session-memory.ts';
import { createFileWalletBudgetStore } from './file-wallet-budget-store.ts';
import { createModelFactory, type ModelFactory } from './models.ts';
import { OFFLINE_PLANNER_NOTE } from './offline-planner.ts';
import type { AgentDeps } from './session-context.ts';
import type { SessionMemory } from './session-memory.ts';
import { type AgentWallet, createAgentWallet } from './wallet.ts';
import { WalletBudget, type WalletBudgetStore, walletBudgetKey } from './wallet-budget.ts';
import { createWalletGate, type WalletState } from './wallet-gate.ts';

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
  /** Waits for the wallet (resolved after the server listens) and tells its state. */
  wallet(): Promise<WalletState>;
  stop(): Promise<void>;
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

  const memory =
    injectedMemory ??
    (config.memory.kind === 'agentcore'
      ? new AgentCoreSessionMemory({
          client: new BedrockAgentCoreClient({ region: config.memory.region }),
          memoryId: config.memory.memoryId,
          log: logger,
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
    injectedAnalyzer ??
    createImageAnalyzer({
      kind: config.imageAnalyzer,
      region: config.region,
      modelId: config.analyzerModelId,
    });
  const model =
    modelFactory ?? (await createModelFactory(config, bedrockClientConfig ? { bedrockClientConfig } : {}));

  // The wallet is resolved after the server listens: a missing secret or a slow CDP answer must not
  // keep `/ping` from answering (AgentCore would restart the container and never show why).
  let wallet: WalletState = { state: 'resolving' };
  let app: Hono | undefined;
  let resolving: Promise<Hono | undefined> | undefined;
  const openWallet = (): Promise<Hono | undefined> => {
    resolving ??= (async () => {
      try {
        const agentWallet =
          injectedWallet ??
          (await createAgentWallet({
            wallet: await resolveWallet(config),
            network: config.network,
            rpcUrl: config.rpcUrl,
          }));
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
            walletKey: walletBudgetKey(config.network.caip2, agentWallet.address),
            cap: config.walletBudget24h,
            ...(now ? { now } : {}),
          }),
          wallet: agentWallet,
          analyzer,
          fetch: fetch ?? globalThis.fetch,
          now: now ?? (() => new Date()),
          newId: randomUUID,
          log: logger,
        };
        app = createApp({ runtime: new AgentRuntime(deps, memory, model), log: logger });
        wallet = { state: 'ready', address: agentWallet.address, provider: agentWallet.provider };
        logger({ event: 'wallet_ready', wallet: agentWallet.address, wallet_provider: agentWallet.provider });
        return app;
      } catch (error) {
        const problem = walletFailure(error);
        wallet = { state: 'failed', problem };
        logger({ level: 'error', event: problem.error, missing: problem.missing, message: problem.message });
        // The next invocation tries again (the operator may have put the secret meanwhile).
        resolving = undefined;
        return undefined;
      }
    })();
    return resolving;
  };

  const front = createWalletGate({
    model,
    walletState: () => wallet,
    ready: () => app,
    openWallet,
  });
  const server = await new Promise<ReturnType<typeof serve>>((resolve, reject) => {
    const s = serve(
      {
        fetch: front.fetch,
        port: config.port,
        hostname: config.host,
        serverOptions: { maxHeaderSize: NODE_MAX_HEADER_BYTES },
      },
      () => resolve(s),
    );
    s.once('error', reject);
  });
  // Requests Node refuses itself (headers over the limit, malformed HTTP) get a JSON code too.
  answerClientErrorsAsJson(server);
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
    network: config.network.id,
    gateway: config.gatewayUrl,
    memory: memory.kind,
    wallet_budget_store: budgetStore.kind,
    wallet_budget_24h: config.walletBudget24h.toString(),
    consent_mode: config.consentMode,
    analyzer: analyzer.name,
  });
  void openWallet();
  return {
    url,
    config,
    wallet: async () => {
      await openWallet();
      return wallet;
    },
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
