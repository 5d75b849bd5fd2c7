import { type ChildProcess, spawn } from 'node:child_process';
import { copyFile, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodePng } from '@agentic-payments/imaging';
import { parseUsdc } from '@agentic-payments/x402';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  AGENT_PACKAGE_DIR,
  BUNDLE_ENTRY_FILE,
  BUNDLE_SIZE_LIMIT_BYTES,
  type BundleAgentResult,
  bundleAgent,
  bundleProblems,
} from '../build/bundle-agent.ts';
import { type FakeCdpApi, startFakeCdpApi } from './fake-cdp-api.ts';
import { type Stack, say, startStack } from './stack.ts';

// The AgentCore image's content, exercised the way the container runs it: the bundle alone in an
// empty directory (no node_modules anywhere above it), started with plain `node`, no tsx.

const SEED_CURL_BODY = {
  input: { prompt: 'What are your main capabilities and what tasks are you designed for?' },
  session_id: 'test-session',
};

interface Started {
  child: ChildProcess;
  url: string;
  /** Milliseconds from spawn to the first 200 from /ping. */
  healthyAfterMs: number;
  /** CPU time (user + system) the process had used by then, from /proc (Linux). */
  cpuMsAtHealthy: number | undefined;
  stdout: () => string;
  stderr: () => string;
}

async function cpuMs(pid: number | undefined): Promise<number | undefined> {
  if (pid === undefined || process.platform !== 'linux') return undefined;
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // utime and stime are fields 14 and 15 of /proc/<pid>/stat, in clock ticks (100 Hz on Linux).
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

async function startBundle(dir: string, env: Record<string, string>): Promise<Started> {
  const started = performance.now();
  const child = spawn(process.execPath, [BUNDLE_ENTRY_FILE], {
    cwd: dir,
    env: { PATH: process.env.PATH ?? '', AGENT_PORT: '0', AGENT_HOST: '127.0.0.1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk) => {
    stdout += String(chunk);
  });
  child.stderr?.on('data', (chunk) => {
    stderr += String(chunk);
  });
  const deadline = started + 60_000;
  let url: string | undefined;
  while (performance.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`bundle exited with ${child.exitCode}: ${stderr || stdout}`);
    url ??= /"event":"agent_started","url":"([^"]+)"/.exec(stdout)?.[1];
    if (url) {
      const ping = await fetch(`${url}/ping`).catch(() => undefined);
      if (ping?.status === 200) {
        const healthyAfterMs = Math.round(performance.now() - started);
        return {
          child,
          url,
          healthyAfterMs,
          cpuMsAtHealthy: await cpuMs(child.pid),
          stdout: () => stdout,
          stderr: () => stderr,
        };
      }
    }
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  child.kill();
  throw new Error(`bundle not healthy within 60 s: ${stderr || stdout}`);
}

describe('the agent bundle (the AgentCore image content)', () => {
  let bundle: BundleAgentResult;
  let runDir: string;
  let stack: Stack;
  let agent: Started;
  let payer: `0x${string}`;

  beforeAll(async () => {
    const buildDir = await mkdtemp(join(tmpdir(), 'agent-bundle-build-'));
    bundle = await bundleAgent({ outdir: buildDir });
    runDir = await mkdtemp(join(tmpdir(), 'agent-bundle-run-'));
    await copyFile(bundle.entry, join(runDir, BUNDLE_ENTRY_FILE));
    await rm(buildDir, { recursive: true, force: true });

    stack = await startStack(inject('devnet'));
    const [funded] = await stack.devnet.fundPayers(1, parseUsdc('10'), 10n ** 17n);
    if (!funded) throw new Error('funding failed');
    payer = funded.address;
    agent = await startBundle(runDir, {
      AGENT_PRIVATE_KEY: funded.privateKey,
      RPC_URL: stack.devnet.rpcUrl,
      GATEWAY_URL: stack.gatewayUrl,
      SELLER_ADDRESS: stack.sellerAddress,
      EXPLORER_URL: stack.explorerUrl,
      DATA_DIR: join(runDir, 'data'),
      CONSENT_MODE: 'confirm',
    });
    // The numbers the issue asks for; this machine is shared, so they are reported, not asserted.
    console.info(
      `agent bundle: ${bundle.bytes} bytes; healthy ${agent.healthyAfterMs} ms after spawn; CPU ${agent.cpuMsAtHealthy ?? '?'} ms by then`,
    );
  }, 240_000);

  afterAll(async () => {
    agent?.child.kill();
    await stack?.stop();
    if (runDir) await rm(runDir, { recursive: true, force: true });
  });

  it('is one ESM file within the size limit, with no native addon and nothing else to install', async () => {
    expect(bundle.files.map((file) => file.name)).toStrictEqual(['Dockerfile', BUNDLE_ENTRY_FILE]);
    expect(bundle.bytes).toBeLessThanOrEqual(BUNDLE_SIZE_LIMIT_BYTES);
    expect(bundle.nativeInputs).toStrictEqual([]);
    expect(bundleProblems(bundle)).toStrictEqual([]);
    expect(await readdir(runDir)).toContain(BUNDLE_ENTRY_FILE);
    expect(await readdir(runDir)).not.toContain('node_modules');
  });

  it('flags a bundle above the limit or with a native addon', () => {
    expect(bundleProblems({ ...bundle, nativeInputs: [] }, bundle.bytes - 1)).toStrictEqual([
      `bundle_too_large: ${bundle.bytes} bytes > limit ${bundle.bytes - 1} bytes`,
    ]);
    expect(
      bundleProblems({
        ...bundle,
        files: [...bundle.files, { name: 'bufferutil.node', bytes: 1 }],
        bytes: 1,
      }),
    ).toStrictEqual(['native_addon_in_bundle: bufferutil.node']);
  });

  it('ships the Dockerfile that runs the bundle with plain node on ARM64, port 8080, with nothing installed', async () => {
    const dockerfile = await readFile(join(AGENT_PACKAGE_DIR, 'Dockerfile'), 'utf8');
    const instructions = dockerfile
      .split('\n')
      .filter((line) => line.trim() !== '' && !line.trimStart().startsWith('#'))
      .join('\n');
    expect(instructions).toMatch(/^FROM --platform=linux\/arm64 node:22[\w.-]*$/m);
    expect(instructions).toContain('AGENT_PORT=8080');
    expect(instructions).toContain('EXPOSE 8080');
    expect(instructions).toContain(`COPY ${BUNDLE_ENTRY_FILE} /app/${BUNDLE_ENTRY_FILE}`);
    expect(instructions).toContain(`CMD ["node", "/app/${BUNDLE_ENTRY_FILE}"]`);
    expect(instructions).not.toMatch(/\b(npm|pnpm|yarn|corepack|tsx|node-gyp)\b/);
    expect(instructions.match(/^FROM /gm)).toHaveLength(1);
  });

  it('starts from an empty directory with plain node and answers /ping', async () => {
    const ping = await fetch(`${agent.url}/ping`);
    expect(ping.status).toBe(200);
    expect(await ping.json()).toMatchObject({ status: 'Healthy', model: 'offline-planner' });
    expect(agent.stdout()).toContain(`"wallet":"${payer}"`);
    // No native-addon fallback warnings, no unhandled rejection (AgentKit's analytics stays off).
    expect(agent.stderr()).toBe('');
  });

  it("answers the seed's curl", async () => {
    const response = await fetch(`${agent.url}/invocations`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(SEED_CURL_BODY),
    });
    expect(response.status).toBe(200);
    const body = (await response.json()) as { output: Record<string, unknown> & { message: unknown } };
    expect(body.output.message).toStrictEqual({
      role: 'assistant',
      content: [{ text: expect.stringContaining('Image Generation') }],
    });
    expect(body.output.session_id).toBe('test-session');
    expect(body.output.model).toBe('offline-planner');
  });

  it('buys an image on the devnet after the user confirms, and the USDC moves on chain', async () => {
    const session = 'bundle-purchase';
    const before = await stack.devnet.usdcBalance(payer);
    const sellerBefore = await stack.devnet.usdcBalance(stack.sellerAddress);

    const ask = await say(agent.url, session, 'Generate an image of a futuristic city at sunset');
    expect(ask.status).toBe(200);
    expect(ask.text).toContain('This image will cost 0.04 USDC');
    expect(ask.body.output.payments).toStrictEqual([]);
    expect(await stack.devnet.usdcBalance(payer)).toBe(before);

    const paid = await say(agent.url, session, 'yes');
    expect(paid.status).toBe(200);
    const [receipt, ...others] = paid.body.output.payments;
    expect(others).toStrictEqual([]);
    if (!receipt) throw new Error(`no receipt: ${paid.text}`);
    expect(receipt.atomic_amount).toBe('40000');
    const chainReceipt = await stack.devnet.publicClient.getTransactionReceipt({
      hash: receipt.transaction_hash as `0x${string}`,
    });
    expect(chainReceipt.status).toBe('success');
    expect(await stack.devnet.usdcBalance(payer)).toBe(before - 40_000n);
    expect(await stack.devnet.usdcBalance(stack.sellerAddress)).toBe(sellerBefore + 40_000n);
    const image = paid.body.output.images[receipt.image_id ?? ''] ?? '';
    if (image.startsWith('data:')) {
      expect(decodePng(Buffer.from(image.split(',')[1] ?? '', 'base64')).width).toBe(1024);
    } else {
      const fetched = await fetch(image);
      expect(fetched.status).toBe(200);
      expect(decodePng(Buffer.from(await fetched.arrayBuffer())).width).toBe(1024);
    }
    expect(agent.stderr()).toBe('');
  });
  it('runs on a CDP account (CDP SDK + AgentKit CdpEvmWalletProvider inside the bundle): the account resolves by name and signs a paid image', async () => {
    // The local stand-in of the CDP API (test/fake-cdp-api.ts), reached through CDP_API_URL.
    const cdp: FakeCdpApi = await startFakeCdpApi();
    let cdpAgent: Started | undefined;
    try {
      cdpAgent = await startBundle(runDir, {
        CDP_API_KEY_ID: cdp.credentials.apiKeyId,
        CDP_API_KEY_SECRET: cdp.credentials.apiKeySecret,
        CDP_WALLET_SECRET: cdp.credentials.walletSecret,
        CDP_API_URL: cdp.url,
        CDP_ACCOUNT_NAME: 'bundle-cdp',
        RPC_URL: stack.devnet.rpcUrl,
        GATEWAY_URL: stack.gatewayUrl,
        SELLER_ADDRESS: stack.sellerAddress,
        EXPLORER_URL: stack.explorerUrl,
        DATA_DIR: join(runDir, 'data-cdp'),
        CONSENT_MODE: 'confirm',
      });
      const running = cdpAgent;
      const deadline = performance.now() + 30_000;
      let ready: RegExpExecArray | null = null;
      while (!ready && performance.now() < deadline) {
        ready = /"event":"wallet_ready","wallet":"(0x[0-9a-fA-F]{40})","wallet_provider":"([^"]+)"/.exec(
          running.stdout(),
        );
        if (!ready) await new Promise((resolve) => setTimeout(resolve, 20));
      }
      if (!ready) throw new Error(`no wallet_ready: ${running.stderr() || running.stdout()}`);
      const address = ready[1] as `0x${string}`;
      expect(cdp.accounts.map((account) => [account.name, account.address])).toStrictEqual([
        ['bundle-cdp', address],
      ]);
      expect(ready[2]).toBe('agentkit-cdp');

      await stack.devnet.mintUsdc(address, parseUsdc('1'));
      const sellerBefore = await stack.devnet.usdcBalance(stack.sellerAddress);
      const ask = await say(running.url, 'bundle-cdp', 'Generate an image of a lighthouse in a storm');
      expect(ask.text).toContain('This image will cost 0.04 USDC');
      const paid = await say(running.url, 'bundle-cdp', 'yes');
      expect(paid.status).toBe(200);
      const [receipt, ...others] = paid.body.output.payments;
      expect(others).toStrictEqual([]);
      if (!receipt) throw new Error(`no receipt: ${paid.text}`);
      const chainReceipt = await stack.devnet.publicClient.getTransactionReceipt({
        hash: receipt.transaction_hash as `0x${string}`,
      });
      expect(chainReceipt.status).toBe('success');
      expect(await stack.devnet.usdcBalance(address)).toBe(parseUsdc('1') - 40_000n);
      expect(await stack.devnet.usdcBalance(stack.sellerAddress)).toBe(sellerBefore + 40_000n);
      // The authorization was signed by the CDP API, not locally.
      expect(cdp.calls.filter((call) => call.endsWith('/sign/typed-data'))).toHaveLength(1);
      expect(running.stderr()).toBe('');
    } finally {
      cdpAgent?.child.kill();
      await cdp.close();
    }
  }, 120_000);
});
