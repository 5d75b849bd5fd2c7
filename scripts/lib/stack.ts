import { createWriteStream, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { type RunningAgent, startAgent } from '@agentic-payments/agent';
import { type Devnet, startDevnet } from '@agentic-payments/devnet';
import {
  createJsonLogger as createFacilitatorLogger,
  type RunningFacilitator,
  startFacilitator,
} from '@agentic-payments/facilitator';
import {
  createJsonLogger as createGatewayLogger,
  type RunningGateway,
  startGateway,
  X402_ORG_FACILITATOR_URL,
} from '@agentic-payments/gateway';
import { type LocalWebSocketHost, startLocalWebSocketHost } from '@agentic-payments/realtime';
import { formatUsdc, getNetwork } from '@agentic-payments/x402';
import { type Address, createPublicClient, erc20Abi, type Hex, http } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { z } from 'zod';
import type { StartConfig } from './config.ts';
import { ensureFrontendBuilt } from './frontend.ts';
import { findBusyPort } from './ports.ts';

const AddressSchema = z.custom<Address>((v) => typeof v === 'string' && /^0x[0-9a-fA-F]{40}$/.test(v));

/** What `npm start` wrote to `<DATA_DIR>/stack.json` once every service answered; the demo reads it. */
export const StackInfo = z.object({
  network: z.enum(['devnet', 'base-sepolia']),
  rpcUrl: z.string(),
  explorerUrl: z.string(),
  facilitatorUrl: z.string(),
  gatewayUrl: z.string(),
  agentUrl: z.string(),
  websocketUrl: z.string(),
  chatUrl: z.string(),
  /** Local stand-ins started by this stack (absent when a cloud endpoint is used instead). */
  imageStoreUrl: z.string().optional(),
  paymentsDbUrl: z.string().optional(),
  connectionsDbUrl: z.string().optional(),
  agentAddress: AddressSchema,
  /** How the agent pays (absent in the info file of a stack started before payment sessions). */
  paymentScheme: z.enum(['exact', 'batch-settlement']).optional(),
  sellerAddress: AddressSchema,
  usdcAddress: AddressSchema,
  dataDir: z.string(),
  logFile: z.string(),
  startedAt: z.string(),
  pid: z.number(),
});
export type StackInfo = z.infer<typeof StackInfo>;

export interface RunningStack {
  info: StackInfo;
  stop(): Promise<void>;
}

export class StackError extends Error {
  override name = 'StackError';
}

type Step = { name: string; stop: () => Promise<void> };

/**
 * Starts every service of the local system in dependency order, in this process: devnet (with
 * explorer), facilitator, gateway, agent, WebSocket host serving the chat page. On any failure the
 * services already started are stopped again before the error propagates.
 */
export async function startStack(
  config: StartConfig,
  progress: (line: string) => void = (line) => console.log(line),
): Promise<RunningStack> {
  const local = config.NETWORK === 'devnet';
  const busy = await findBusyPort({
    ...(local ? { DEVNET_PORT: config.DEVNET_PORT, EXPLORER_PORT: config.EXPLORER_PORT } : {}),
    FACILITATOR_PORT: local || !config.FACILITATOR_URL ? config.FACILITATOR_PORT : 0,
    GATEWAY_PORT: config.GATEWAY_PORT,
    AGENT_PORT: config.AGENT_PORT,
    WS_PORT: config.WS_PORT,
  });
  if (busy) {
    throw new StackError(
      `port ${busy[1]} (${busy[0]}) is already in use: stop whatever listens there (another "npm start"?) or set ${busy[0]}=<free port>`,
    );
  }

  mkdirSync(config.DATA_DIR, { recursive: true });
  const stackFile = join(config.DATA_DIR, 'stack.json');
  rmSync(stackFile, { force: true });
  const logDir = join(config.DATA_DIR, 'logs');
  mkdirSync(logDir, { recursive: true });
  const logFile = join(logDir, 'stack.log');
  const logStream = createWriteStream(logFile, { flags: 'a' });
  const writeLog = (line: string) => logStream.write(`${line}\n`);

  const steps: Step[] = [];
  const stopAll = async () => {
    for (const step of steps.reverse()) {
      await step.stop().catch((error: unknown) => progress(`  ! stopping ${step.name}: ${describe(error)}`));
    }
    steps.length = 0;
    await new Promise<void>((resolve) => logStream.end(resolve));
  };
  const total = 5;
  let index = 0;
  const step = async <T extends { stop(): Promise<void> }>(
    name: string,
    start: () => Promise<T>,
    detail: (value: T) => string,
  ): Promise<T> => {
    index += 1;
    const t0 = performance.now();
    progress(`[${index}/${total}] starting ${name}...`);
    const value = await start();
    steps.push({ name, stop: () => value.stop() });
    progress(`      ${name} ready in ${Math.round(performance.now() - t0)} ms: ${detail(value)}`);
    return value;
  };

  try {
    let rpcUrl: string;
    let explorerUrl: string;
    let sellerAddress: Address;
    let settlerKey: Hex | undefined;
    let agentKey: Hex | undefined;
    const networkInfo = getNetwork(config.NETWORK);

    if (local) {
      const devnet = await step<Devnet>(
        'devnet (anvil, chain id 84532, USDC at the Base Sepolia address) + explorer',
        () =>
          startDevnet({
            dataDir: config.DATA_DIR,
            host: config.HOST,
            port: config.DEVNET_PORT,
            explorerPort: config.EXPLORER_PORT,
            log: (line) => writeLog(JSON.stringify({ service: 'devnet', line })),
          }),
        (d) => `${d.rpcUrl} (${d.initialised ? 'fresh state, accounts funded' : 'state restored'})`,
      );
      rpcUrl = devnet.rpcUrl;
      explorerUrl = devnet.explorerUrl ?? rpcUrl;
      sellerAddress = devnet.accounts.seller.address;
      settlerKey = devnet.accounts.settler.privateKey;
      agentKey = devnet.accounts.agent.privateKey;
    } else {
      rpcUrl = config.RPC_URL as string;
      explorerUrl = networkInfo.explorerUrl;
      sellerAddress = config.SELLER_ADDRESS as Address;
      settlerKey = config.SETTLER_PRIVATE_KEY as Hex | undefined;
      agentKey = config.AGENT_PRIVATE_KEY as Hex | undefined;
      index += 1;
      progress(`[${index}/${total}] using ${config.NETWORK} at ${rpcUrl} (no devnet)`);
    }

    let facilitatorUrl: string;
    const runOurFacilitator = local || (!config.FACILITATOR_URL && settlerKey !== undefined);
    if (runOurFacilitator) {
      const facilitator = await step<RunningFacilitator>(
        'facilitator (ours, on the official @x402/evm exact scheme)',
        () =>
          startFacilitator({
            rpcUrl,
            privateKey: settlerKey as Hex,
            network: config.NETWORK,
            host: config.HOST,
            port: config.FACILITATOR_PORT,
            logger: createFacilitatorLogger(writeLog),
          }),
        (f) => `${f.url} (settler ${f.address})`,
      );
      facilitatorUrl = facilitator.url;
    } else {
      facilitatorUrl = config.FACILITATOR_URL ?? X402_ORG_FACILITATOR_URL;
      index += 1;
      progress(`[${index}/${total}] using the facilitator at ${facilitatorUrl}`);
    }

    const gateway = await step<RunningGateway>(
      `gateway (x402 seller, ${config.IMAGE_GENERATOR === 'local' ? 'local procedural image generator' : 'Bedrock Nova Canvas'})`,
      async () => {
        const imaging =
          config.IMAGE_GENERATOR === 'bedrock'
            ? {
                imageGenerator: (await import('@agentic-payments/imaging')).createImageGenerator({
                  kind: 'bedrock',
                  region: config.AWS_REGION,
                }),
              }
            : {};
        return startGateway({
          host: config.HOST,
          port: config.GATEWAY_PORT,
          sellerAddress,
          network: config.NETWORK,
          facilitatorUrl,
          facilitatorKind: runOurFacilitator ? 'ours' : (config.FACILITATOR_KIND ?? 'x402.org'),
          dataDir: join(config.DATA_DIR, 'gateway'),
          explorerUrl,
          rpcUrl,
          awsRegion: config.AWS_REGION,
          logger: createGatewayLogger({ write: writeLog }),
          ...imaging,
        });
      },
      (g) => `${g.url} (payTo ${sellerAddress})`,
    );

    const agent = await step<RunningAgent>(
      `agent (AgentCore contract, ${config.AGENT_MODEL === 'offline-planner' ? 'offline planner: not an LLM' : config.AGENT_MODEL})`,
      () =>
        startAgent({
          env: {
            ...process.env,
            AGENT_HOST: config.HOST,
            AGENT_PORT: String(config.AGENT_PORT),
            GATEWAY_URL: gateway.url,
            NETWORK: config.NETWORK,
            RPC_URL: rpcUrl,
            SELLER_ADDRESS: sellerAddress,
            AGENT_PRIVATE_KEY: agentKey,
            DATA_DIR: config.DATA_DIR, // the agent keeps its sessions under <DATA_DIR>/agent
            EXPLORER_URL: explorerUrl,
            PAYMENT_SCHEME: config.PAYMENT_SCHEME,
          },
          log: (entry) =>
            writeLog(JSON.stringify({ time: new Date().toISOString(), service: 'agent', ...entry })),
        }),
      (a) => `${a.url}`,
    );

    const staticDir = await ensureFrontendBuilt(progress);
    const host = await step<LocalWebSocketHost>(
      'WebSocket host (API Gateway stand-in running the Lambda handlers) + chat page',
      () =>
        startLocalWebSocketHost({
          host: config.HOST,
          port: config.WS_PORT,
          agentUrl: agent.url,
          dataDir: join(config.DATA_DIR, 'realtime'),
          staticDir,
          explorerUrl,
          logger: createGatewayLogger({ service: 'realtime', write: writeLog }),
        }),
      (h) => `${h.url} (image store ${h.s3Endpoint}, connections ${h.dynamoEndpoint})`,
    );

    if (agentKey === undefined) throw new StackError('AGENT_PRIVATE_KEY is required off the devnet');
    const info: StackInfo = {
      network: config.NETWORK,
      rpcUrl,
      explorerUrl,
      facilitatorUrl,
      gatewayUrl: gateway.url,
      agentUrl: agent.url,
      websocketUrl: host.url,
      chatUrl: `${host.httpUrl}/`,
      imageStoreUrl: host.s3Endpoint,
      ...(gateway.dynamodbEndpoint ? { paymentsDbUrl: gateway.dynamodbEndpoint } : {}),
      connectionsDbUrl: host.dynamoEndpoint,
      agentAddress: privateKeyToAccount(agentKey).address,
      paymentScheme: config.PAYMENT_SCHEME,
      sellerAddress,
      usdcAddress: networkInfo.usdcAddress,
      dataDir: config.DATA_DIR,
      logFile,
      startedAt: new Date().toISOString(),
      pid: process.pid,
    };
    writeFileSync(stackFile, `${JSON.stringify(info, null, 2)}\n`);
    return {
      info,
      stop: async () => {
        rmSync(stackFile, { force: true });
        await stopAll();
      },
    };
  } catch (error) {
    await stopAll();
    throw error;
  }
}

/** ETH and USDC balances of an address, formatted for people. */
export async function balancesOf(info: Pick<StackInfo, 'rpcUrl' | 'usdcAddress'>, address: Address) {
  const client = createPublicClient({ transport: http(info.rpcUrl) });
  const [wei, usdc] = await Promise.all([
    client.getBalance({ address }),
    client.readContract({
      address: info.usdcAddress,
      abi: erc20Abi,
      functionName: 'balanceOf',
      args: [address],
    }),
  ]);
  return { eth: formatEth(wei), usdc: formatUsdc(usdc), atomicUsdc: usdc };
}

function formatEth(wei: bigint): string {
  const whole = wei / 10n ** 18n;
  const frac = (wei % 10n ** 18n).toString().padStart(18, '0').slice(0, 6);
  return `${whole}.${frac}`;
}

export function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** The running stack's `stack.json`, or undefined when none is running from this data directory. */
export function readStackInfo(dataDir: string): StackInfo | undefined {
  const file = join(dataDir, 'stack.json');
  if (!existsSync(file)) return undefined;
  const parsed = StackInfo.safeParse(JSON.parse(readFileSync(file, 'utf8')));
  return parsed.success ? parsed.data : undefined;
}
