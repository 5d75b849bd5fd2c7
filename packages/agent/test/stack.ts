import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectDevnet, type DevnetClient } from '@agentic-payments/devnet';
import type { ProvidedDevnet } from '@agentic-payments/devnet/global-setup';
import { createMemoryLogger as facilitatorLogger, startFacilitator } from '@agentic-payments/facilitator';
import { createMemoryLogger, startGateway } from '@agentic-payments/gateway';
import { AgentInvocationResponse, parseUsdc } from '@agentic-payments/x402';
import type { InvocationOutput } from '../src/agent-runtime.ts';
import { type RunningAgent, type StartAgentOptions, startAgent } from '../src/index.ts';

/** The real seller stack on the shared test devnet: facilitator + gateway, with fresh accounts per file. */
export interface Stack {
  devnet: DevnetClient;
  gatewayUrl: string;
  sellerAddress: `0x${string}`;
  explorerUrl: string;
  dataDir: string;
  /** One claim + settle pass of the gateway's batch-settlement channels now. */
  claimChannels(): Promise<void>;
  stop(): Promise<void>;
}

export async function startStack(
  provided: ProvidedDevnet,
  options: { imageDelivery?: 'inline' | 'url' } = {},
): Promise<Stack> {
  const devnet = connectDevnet(provided);
  const dataDir = await mkdtemp(join(tmpdir(), 'agent-e2e-'));
  // A settler of our own (with ETH) so parallel files never share a settler nonce sequence.
  const [settler, seller] = await devnet.fundPayers(2, 0n, 10n ** 18n);
  if (!settler || !seller) throw new Error('funding failed');
  const facilitator = await startFacilitator({
    rpcUrl: devnet.rpcUrl,
    privateKey: settler.privateKey,
    network: 'devnet',
    port: 0,
    host: '127.0.0.1',
    logger: facilitatorLogger(),
  });
  const gateway = await startGateway({
    port: 0,
    host: '127.0.0.1',
    sellerAddress: seller.address,
    network: 'devnet',
    facilitatorUrl: facilitator.url,
    dataDir: join(dataDir, 'gateway'),
    rpcUrl: devnet.rpcUrl,
    explorerUrl: provided.explorerUrl,
    imageDelivery: options.imageDelivery,
    logger: createMemoryLogger(),
  });
  return {
    devnet,
    gatewayUrl: gateway.url,
    sellerAddress: seller.address,
    explorerUrl: provided.explorerUrl,
    dataDir,
    async claimChannels() {
      await gateway.channels?.claims.runOnce();
    },
    async stop() {
      await gateway.stop();
      await facilitator.stop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/** A funded agent wallet (fresh payer) and an agent on it, on a free port. */
export async function startTestAgent(
  stack: Stack,
  options: StartAgentOptions & { usdc?: string } = {},
): Promise<{ agent: RunningAgent; address: `0x${string}`; privateKey: `0x${string}` }> {
  const { usdc = '10', ...rest } = options;
  const atomic = parseUsdc(usdc);
  const [payer] = await stack.devnet.fundPayers(1, atomic, 10n ** 17n);
  if (!payer) throw new Error('funding failed');
  const agent = await startAgent({
    env: {
      AGENT_PRIVATE_KEY: payer.privateKey,
      RPC_URL: stack.devnet.rpcUrl,
      GATEWAY_URL: stack.gatewayUrl,
      SELLER_ADDRESS: stack.sellerAddress,
      EXPLORER_URL: stack.explorerUrl,
      DATA_DIR: join(stack.dataDir, `agent-${payer.address}`),
    },
    port: 0,
    host: '127.0.0.1',
    log: () => {},
    ...rest,
  });
  return { agent, address: payer.address, privateKey: payer.privateKey };
}

export interface Reply {
  status: number;
  text: string;
  body: { output: InvocationOutput };
}

export async function say(agentUrl: string, sessionId: string, prompt: string): Promise<Reply> {
  const response = await fetch(`${agentUrl}/invocations`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ input: { prompt }, session_id: sessionId }),
  });
  const json: unknown = await response.json();
  // Every 200 must match the one shared contract the realtime handlers and the chat page parse.
  if (response.status === 200) AgentInvocationResponse.parse(json);
  const body = json as Reply['body'];
  return { status: response.status, text: body.output?.message.content[0]?.text ?? '', body };
}
