/**
 * Agent turn with the offline planner (a deterministic rule-based stand-in, not a language model):
 * a WebSocket prompt through the local API Gateway WebSocket host → agent → paid image from our
 * gateway (settled on the devnet) → `complete` frame carrying the image. One fresh session per turn.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { startAgent } from '@agentic-payments/agent';
import type { Devnet } from '@agentic-payments/devnet';
import {
  createMemoryLogger as createFacilitatorLogger,
  startFacilitator,
} from '@agentic-payments/facilitator';
import { createMemoryLogger as createGatewayLogger, startGateway } from '@agentic-payments/gateway';
import { startLocalWebSocketHost } from '@agentic-payments/realtime';
import WebSocket from 'ws';
import { type LatencySummary, summarize } from './stats.ts';

export const AGENT_PROMPT = 'Generate an image of a futuristic city at sunset';

export interface AgentTurnResult {
  prompt: string;
  model: string;
  turns: number;
  completedWithImage: number;
  paidTurns: number;
  failures: Record<string, number>;
  turnMs: LatencySummary;
}

interface Frame {
  type?: string;
  code?: string;
  message?: string;
  response?: { output?: { model?: string; images?: Record<string, string>; payments?: unknown[] } };
}

function oneTurn(url: string, prompt: string, timeoutMs = 60_000): Promise<Frame> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url);
    const timer = setTimeout(() => {
      socket.terminate();
      reject(new Error('turn_timeout'));
    }, timeoutMs);
    socket.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    socket.once('open', () =>
      socket.send(JSON.stringify({ input: { prompt }, session_id: `bench-${randomUUID()}` })),
    );
    socket.on('message', (data: WebSocket.RawData) => {
      const frame = JSON.parse(data.toString()) as Frame;
      if (frame.type !== 'complete' && frame.type !== 'error') return;
      clearTimeout(timer);
      socket.close();
      resolve(frame);
    });
  });
}

export async function runAgentTurns(options: {
  devnet: Devnet;
  quick: boolean;
  log: (line: string) => void;
}): Promise<AgentTurnResult> {
  const { devnet, quick } = options;
  const turns = quick ? 3 : 10;
  const dataDir = mkdtempSync(join(tmpdir(), 'bench-agent-'));
  const cleanups: Array<() => Promise<unknown>> = [];
  try {
    const facilitator = await startFacilitator({
      rpcUrl: devnet.rpcUrl,
      privateKey: devnet.accounts.settler.privateKey,
      network: 'devnet',
      port: 0,
      logger: createFacilitatorLogger(),
    });
    cleanups.push(facilitator.stop);
    const gateway = await startGateway({
      port: 0,
      sellerAddress: devnet.accounts.seller.address,
      network: 'devnet',
      facilitatorUrl: facilitator.url,
      dataDir: join(dataDir, 'gateway'),
      rpcUrl: devnet.rpcUrl,
      imageUrlSecret: 'bench-only-image-url-secret-0123456789',
      logger: createGatewayLogger(),
    });
    cleanups.push(gateway.stop);
    const agent = await startAgent({
      env: {
        AGENT_HOST: '127.0.0.1',
        AGENT_PORT: '0',
        GATEWAY_URL: gateway.url,
        NETWORK: 'devnet',
        RPC_URL: devnet.rpcUrl,
        SELLER_ADDRESS: devnet.accounts.seller.address,
        AGENT_PRIVATE_KEY: devnet.accounts.agent.privateKey,
        DATA_DIR: join(dataDir, 'agent'),
        AGENT_MODEL: 'offline-planner',
        CONSENT_MODE: 'auto',
      },
      log: () => {},
    });
    cleanups.push(agent.stop);
    const host = await startLocalWebSocketHost({
      port: 0,
      agentUrl: agent.url,
      dataDir: join(dataDir, 'realtime'),
    });
    cleanups.push(host.stop);

    await oneTurn(host.url, AGENT_PROMPT); // warm-up, not counted
    const times: number[] = [];
    const failures: Record<string, number> = {};
    let completedWithImage = 0;
    let paidTurns = 0;
    let model = 'unknown';
    for (let i = 0; i < turns; i++) {
      const t0 = performance.now();
      try {
        const frame = await oneTurn(host.url, AGENT_PROMPT);
        const ms = performance.now() - t0;
        const output = frame.response?.output;
        if (frame.type === 'complete' && output && Object.keys(output.images ?? {}).length > 0) {
          completedWithImage += 1;
          if ((output.payments ?? []).length > 0) paidTurns += 1;
          model = output.model ?? model;
          times.push(ms);
        } else {
          const reason = frame.type === 'error' ? `error:${frame.code}` : 'complete_without_image';
          failures[reason] = (failures[reason] ?? 0) + 1;
        }
      } catch (error) {
        const reason = error instanceof Error ? error.message.slice(0, 60) : 'unknown';
        failures[reason] = (failures[reason] ?? 0) + 1;
      }
    }
    options.log(`  ${completedWithImage}/${turns} turns completed with an image (${paidTurns} paid)`);
    return {
      prompt: AGENT_PROMPT,
      model,
      turns,
      completedWithImage,
      paidTurns,
      failures,
      turnMs: summarize(times),
    };
  } finally {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
    rmSync(dataDir, { recursive: true, force: true });
  }
}
