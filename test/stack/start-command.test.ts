import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createPublicClient, erc20Abi, type Hex, http, parseEventLogs } from 'viem';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// The README's start command, run as a user would: a fresh data directory, the bootstrap entry,
// every port 0 so the test never collides with a stack a developer is running.
const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const TSX = join(ROOT, 'node_modules', '.bin', 'tsx');
const USDC = '0x036CbD53842c5426634e7929541eC2318f3dCF7e';

interface StackInfo {
  rpcUrl: string;
  agentUrl: string;
  gatewayUrl: string;
  chatUrl: string;
  explorerUrl: string;
  websocketUrl: string;
  agentAddress: Hex;
  sellerAddress: Hex;
}

interface Started {
  child: ChildProcess;
  output: () => string;
  info: StackInfo;
  /** Seconds from spawning the command to its banner, as the test saw it. */
  wallSeconds: number;
}

function env(dataDir: string): NodeJS.ProcessEnv {
  return {
    ...process.env,
    DATA_DIR: dataDir,
    DEVNET_PORT: '0',
    EXPLORER_PORT: '0',
    FACILITATOR_PORT: '0',
    GATEWAY_PORT: '0',
    AGENT_PORT: '0',
    WS_PORT: '0',
  };
}

async function startCommand(dataDir: string): Promise<Started> {
  const spawnedAt = Date.now();
  const child = spawn(process.execPath, ['scripts/bootstrap.mjs', 'start'], {
    cwd: ROOT,
    env: env(dataDir),
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  const deadline = Date.now() + 120_000;
  while (!output.includes('Press Ctrl-C to stop.')) {
    if (child.exitCode !== null) throw new Error(`start exited with ${child.exitCode}:\n${output}`);
    if (Date.now() > deadline) {
      // Stop what did start (the whole process group), so no stack outlives the test.
      process.kill(-(child.pid as number), 'SIGINT');
      throw new Error(`start did not become ready:\n${output}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  const wallSeconds = (Date.now() - spawnedAt) / 1000;
  const info = JSON.parse(readFileSync(join(dataDir, 'stack.json'), 'utf8')) as StackInfo;
  return { child, output: () => output, info, wallSeconds };
}

async function stopCommand(started: Started): Promise<number | null> {
  const { child } = started;
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  // Ctrl-C in a terminal signals the whole foreground process group.
  process.kill(-(child.pid as number), 'SIGINT');
  return exited;
}

function runDemo(dataDir: string): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(TSX, ['scripts/demo.ts'], { cwd: ROOT, env: env(dataDir) });
    let output = '';
    child.stdout.on('data', (c: Buffer) => {
      output += c.toString();
    });
    child.stderr.on('data', (c: Buffer) => {
      output += c.toString();
    });
    child.on('exit', (code) => resolve({ code, output }));
  });
}

function usdcBalance(rpcUrl: string, address: Hex): Promise<bigint> {
  const client = createPublicClient({ transport: http(rpcUrl) });
  return client.readContract({ address: USDC, abi: erc20Abi, functionName: 'balanceOf', args: [address] });
}

describe('the README start command', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'stack-'));
  let first: Started | undefined;
  let second: Started | undefined;

  beforeAll(() => {
    expect(existsSync(TSX)).toBe(true);
  });

  afterAll(async () => {
    for (const s of [first, second]) {
      if (s && s.child.exitCode === null) await stopCommand(s).catch(() => {});
    }
    rmSync(dataDir, { recursive: true, force: true });
  });

  let transactionHash: Hex;
  let sellerAfter: bigint;
  let agentAfter: bigint;
  let sessionId: string;

  it('starts every service from a fresh data directory and prints what to do next', async () => {
    first = await startCommand(dataDir);
    const out = first.output();
    for (const line of ['chat page', 'WebSocket API', 'agent wallet', 'seller (payTo)', 'curl -X POST']) {
      expect(out).toContain(line);
    }
    expect(out).toContain('fresh state, accounts funded');
    // Every local service is listed, the image store (s3rver) included, and the chain by its name.
    for (const line of ['  image store ', '  payment records ', '  connections '])
      expect(out).toContain(line);
    expect(out).toContain('Local devnet — Base Sepolia stand-in (chain 84532)');
    // "ready in" counts from the command's start (bootstrap included), not from the stack process's.
    const ready = Number(/ready in (\d+\.\d) s/.exec(out)?.[1]);
    expect(ready).toBeGreaterThan(first.wallSeconds - 0.5);
    expect(ready).toBeLessThanOrEqual(first.wallSeconds + 0.1);
    const ping = await fetch(`${first.info.agentUrl}/ping`);
    expect(ping.status).toBe(200);
    const page = await fetch(first.info.chatUrl);
    expect(await page.text()).toContain('<div id="root">');
  }, 150_000);

  it('plays the demo conversation, and the payment is on chain for exactly the price', async () => {
    const info = (first as Started).info;
    const sellerBefore = await usdcBalance(info.rpcUrl, info.sellerAddress);
    const agentBefore = await usdcBalance(info.rpcUrl, info.agentAddress);
    const demo = await runDemo(dataDir);
    expect(demo.output).toContain(
      'demo complete: 1 payment(s) settled; the session spent 0.04 of its 1 USDC budget.',
    );
    expect(demo.code).toBe(0);
    sessionId = /session (demo-[0-9a-f-]+)/.exec(demo.output)?.[1] as string;
    expect(demo.output).toContain(
      'receipt: paid 0.04 USDC on Local devnet — Base Sepolia stand-in (chain 84532)',
    );
    transactionHash = /\/tx\/(0x[0-9a-f]{64})/.exec(demo.output)?.[1] as Hex;
    expect(transactionHash).toMatch(/^0x[0-9a-f]{64}$/);
    // One receipt per payment: the explorer link is printed once, not also inside the reply's text.
    expect(demo.output.split(`${info.explorerUrl}/tx/${transactionHash}`)).toHaveLength(2);

    const client = createPublicClient({ transport: http(info.rpcUrl) });
    const receipt = await client.getTransactionReceipt({ hash: transactionHash });
    expect(receipt.status).toBe('success');
    const transfers = parseEventLogs({ abi: erc20Abi, logs: receipt.logs, eventName: 'Transfer' });
    expect(transfers.map((t) => t.args)).toStrictEqual([
      { from: info.agentAddress, to: info.sellerAddress, value: 40_000n },
    ]);
    sellerAfter = await usdcBalance(info.rpcUrl, info.sellerAddress);
    agentAfter = await usdcBalance(info.rpcUrl, info.agentAddress);
    expect(sellerAfter - sellerBefore).toBe(40_000n);
    expect(agentBefore - agentAfter).toBe(40_000n);

    const explorer = await fetch(`${info.explorerUrl}/tx/${transactionHash}`);
    expect(explorer.status).toBe(200);
    expect(await explorer.text()).toContain(transactionHash);
  }, 120_000);

  it('stops cleanly on Ctrl-C', async () => {
    const code = await stopCommand(first as Started);
    expect(code, (first as Started).output()).toBe(0);
    expect((first as Started).output()).toContain('stopped.');
    expect(existsSync(join(dataDir, 'stack.json'))).toBe(false);
  }, 60_000);

  it('restarts from the same data directory with nothing lost', async () => {
    second = await startCommand(dataDir);
    const info = second.info;
    expect(second.output()).toContain('state restored');
    expect(await usdcBalance(info.rpcUrl, info.sellerAddress)).toBe(sellerAfter);
    expect(await usdcBalance(info.rpcUrl, info.agentAddress)).toBe(agentAfter);

    const client = createPublicClient({ transport: http(info.rpcUrl) });
    const receipt = await client.getTransactionReceipt({ hash: transactionHash });
    expect(receipt.status).toBe('success');

    // The agent's session memory survived: the same session still knows what it spent.
    const reply = await fetch(`${info.agentUrl}/invocations`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ input: { prompt: 'What are my wallet details?' }, session_id: sessionId }),
    });
    expect(reply.status).toBe(200);
    const body = (await reply.json()) as { output: { message: { content: Array<{ text: string }> } } };
    expect(body.output.message.content.map((c) => c.text).join('\n')).toMatch(/spent 0\.04 of/);

    expect(await stopCommand(second), second.output()).toBe(0);
  }, 150_000);
});
