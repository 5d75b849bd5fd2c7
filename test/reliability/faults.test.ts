/**
 * Case 2, fault injection on the paid path, against the real devnet and facilitator: the generator
 * throws or hangs; the facilitator is down, slow or answers garbage (a programmable HTTP proxy in
 * front of it); the RPC goes down mid-settlement (a cuttable TCP proxy in front of anvil); the
 * settlement reverts; the gateway process is killed -9 between verify and settle and restarted on
 * the same data directory. After every case the chain is the judge: each USDC transfer to the
 * seller belongs to exactly one delivered image (no charge without content), and every delivered
 * image has its transfer (no content without settlement).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Devnet, DevnetAccount } from '@agentic-payments/devnet';
import type { RunningFacilitator } from '@agentic-payments/facilitator';
import { createHttpFacilitatorClient } from '@agentic-payments/gateway';
import { type ImageGenerator, ImagingError, LocalImageGenerator } from '@agentic-payments/imaging';
import { createWalletClient, erc20Abi, http } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  bootDevnet,
  bootFacilitator,
  bootGateway,
  buy,
  type Cleanup,
  type FacilitatorProxy,
  freshSeller,
  fundedPayer,
  type PostResult,
  signPayment,
  sleep,
  startFacilitatorProxy,
  startTcpProxy,
  type TcpProxy,
  tempDir,
  transfersBetween,
} from './harness.ts';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = join(HERE, '..', '..');

let devnet: Devnet;
let rpcProxy: TcpProxy;
let facilitator: RunningFacilitator;
let proxy: FacilitatorProxy;
let seller: `0x${string}`;
const cleanups: Cleanup[] = [];
/** Every transaction hash a client received with an image, per payer. */
const delivered = new Map<string, Set<string>>();
type HangOutcome = { status: number; elapsedMs: number; retryStatus: number; payer: DevnetAccount };
let hangCase: Promise<HangOutcome>;
let deafHangCase: Promise<HangOutcome>;

async function runHangCase(mode: 'hang' | 'hang-deaf' = 'hang') {
  const generator = new ControlledGenerator();
  generator.mode = mode;
  const gateway = await gatewayWith({ imageGenerator: generator, direct: true });
  const payer = await fundedPayer(devnet);
  const payment = await signPayment(payer, seller);
  const body = { request_id: `gen-${mode}`, prompt: 'a slow river' };
  const started = Date.now();
  const failed = await buy(gateway.url, body, payment.header, 80_000).catch(
    (error: unknown): PostResult => ({ status: -1, body: { error: String(error) } }),
  );
  const elapsedMs = Date.now() - started;
  expect(failed.body.image).toBeUndefined();
  expect(await expectChargesMatchDeliveries(payer)).toBe(0);
  generator.mode = 'ok';
  const retry = await purchase(gateway.url, body, payment.header, payer);
  return { status: failed.status, elapsedMs, retryStatus: retry.status, payer };
}

beforeAll(async () => {
  devnet = await bootDevnet();
  cleanups.push(() => devnet.stop());
  rpcProxy = await startTcpProxy(devnet.rpcUrl);
  cleanups.push(() => rpcProxy.stop());
  // The facilitator reaches anvil through the cuttable proxy; the gateway's chain reads do not.
  facilitator = await bootFacilitator(rpcProxy.url, devnet.accounts.settler.privateKey);
  cleanups.push(() => facilitator.stop());
  proxy = await startFacilitatorProxy(facilitator.url);
  cleanups.push(() => proxy.stop());
  seller = await freshSeller(devnet);
  // The hanging-generator case waits out the gateway's generation budget (28 s deadline - 8 s settle reserve): start it now, in the
  // background (it talks to the facilitator directly), and judge it in the last test.
  hangCase = runHangCase('hang');
  hangCase.catch(() => undefined);
  deafHangCase = runHangCase('hang-deaf');
  deafHangCase.catch(() => undefined);
}, 60_000);

afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

function resetProxy() {
  proxy.set('/verify', { kind: 'pass' });
  proxy.set('/settle', { kind: 'pass' });
}

async function gatewayWith(options: { imageGenerator?: ImageGenerator; direct?: boolean } = {}) {
  const data = tempDir('reliability-faults-');
  const gateway = await bootGateway({
    sellerAddress: seller,
    facilitatorUrl: proxy.url,
    dataDir: data.dir,
    rpcUrl: devnet.rpcUrl,
    facilitator: createHttpFacilitatorClient({
      url: options.direct ? facilitator.url : proxy.url,
      kind: 'ours',
      verifyTimeoutMs: 3_000,
      settleTimeoutMs: 10_000,
    }),
    ...(options.imageGenerator ? { imageGenerator: options.imageGenerator } : {}),
  });
  cleanups.push(async () => {
    await gateway.stop();
    data.remove();
  });
  return gateway;
}

/** Buy and remember what was delivered (status 200 with an image). */
async function purchase(url: string, body: Record<string, unknown>, header: string, payer: DevnetAccount) {
  const result = await buy(url, body, header, 30_000).catch(
    (error: unknown): PostResult => ({ status: -1, body: { error: String(error) } }),
  );
  if (result.status === 200) {
    expect(typeof (result.body.image as { base64?: string } | undefined)?.base64).toBe('string');
    const set = delivered.get(payer.address) ?? new Set<string>();
    set.add(String(result.body.transaction_hash));
    delivered.set(payer.address, set);
  }
  return result;
}

/** The invariant: on-chain transfers from `payer` to the seller are exactly the delivered ones. */
async function expectChargesMatchDeliveries(payer: DevnetAccount) {
  const onChain = (await transfersBetween(devnet, payer.address, seller)).map((l) => l.transactionHash);
  expect(new Set(onChain).size).toBe(onChain.length);
  expect([...onChain].sort()).toEqual([...(delivered.get(payer.address) ?? [])].sort());
  return onChain.length;
}

/** Retries the same request and payment (as a client should) until a final answer, bounded. */
async function retryUntilFinal(
  url: string,
  body: Record<string, unknown>,
  header: string,
  payer: DevnetAccount,
  attempts = 15,
) {
  let last: PostResult = { status: -1, body: {} };
  for (let i = 0; i < attempts; i += 1) {
    last = await purchase(url, body, header, payer);
    if (last.status === 200 || last.status === 402) return last;
    await sleep(700);
  }
  return last;
}

class ControlledGenerator implements ImageGenerator {
  readonly name = 'local procedural generator (test-controlled faults)';
  mode: 'ok' | 'throw' | 'throw-imaging' | 'hang' | 'hang-deaf' = 'ok';
  private readonly inner = new LocalImageGenerator();
  async generate(...args: Parameters<ImageGenerator['generate']>) {
    const [, opts] = args;
    if (this.mode === 'throw') throw new Error('generator exploded (injected)');
    if (this.mode === 'throw-imaging') {
      throw new ImagingError('generation_failed', 'model refused (injected)');
    }
    if (this.mode === 'hang') {
      // Hangs until the gateway's deadline aborts it, as a stuck model call would.
      await new Promise<never>((_, reject) => {
        opts?.signal?.addEventListener('abort', () => reject(opts.signal?.reason), { once: true });
      });
    }
    if (this.mode === 'hang-deaf') {
      // A stuck call that ignores the abort signal (an SDK without cancellation): the gateway's
      // deadline must still hold.
      await new Promise<void>((resolve) => setTimeout(resolve, 120_000).unref());
    }
    return this.inner.generate(...args);
  }
}

describe('generator faults', () => {
  it('a throwing generator charges nothing and releases the payment for a retry', async () => {
    resetProxy();
    const generator = new ControlledGenerator();
    const gateway = await gatewayWith({ imageGenerator: generator });
    const payer = await fundedPayer(devnet);
    const payment = await signPayment(payer, seller);
    const body = { request_id: 'gen-throw', prompt: 'a red fox' };
    for (const mode of ['throw', 'throw-imaging'] as const) {
      generator.mode = mode;
      const failed = await purchase(gateway.url, body, payment.header, payer);
      expect(failed.status).toBeGreaterThanOrEqual(500);
      expect(failed.status).toBeLessThan(600);
      expect(failed.body.image).toBeUndefined();
      expect(await expectChargesMatchDeliveries(payer)).toBe(0);
    }
    // The reservation was released: the same payment buys the image once the generator works.
    generator.mode = 'ok';
    const ok = await purchase(gateway.url, body, payment.header, payer);
    expect(ok.status).toBe(200);
    expect(await expectChargesMatchDeliveries(payer)).toBe(1);
  }, 30_000);
});

describe('facilitator faults', () => {
  it('facilitator down at verify: 503, nothing charged, the payment stays usable', async () => {
    resetProxy();
    const gateway = await gatewayWith();
    const payer = await fundedPayer(devnet);
    const payment = await signPayment(payer, seller);
    const body = { request_id: 'fac-down', prompt: 'a blue whale' };
    proxy.set('/verify', { kind: 'down' });
    const failed = await purchase(gateway.url, body, payment.header, payer);
    expect(failed.status).toBe(503);
    expect(failed.body.error).toBe('facilitator_unavailable');
    expect(await expectChargesMatchDeliveries(payer)).toBe(0);
    resetProxy();
    expect((await purchase(gateway.url, body, payment.header, payer)).status).toBe(200);
    expect(await expectChargesMatchDeliveries(payer)).toBe(1);
  }, 30_000);

  it('facilitator slower than the verify deadline: 503, released; slow but in time settle: 200', async () => {
    resetProxy();
    const gateway = await gatewayWith();
    const payer = await fundedPayer(devnet);
    const payment = await signPayment(payer, seller);
    const body = { request_id: 'fac-slow', prompt: 'a green hill' };
    proxy.set('/verify', { kind: 'slow', delayMs: 4_500 });
    const failed = await purchase(gateway.url, body, payment.header, payer);
    expect(failed.status).toBe(503);
    expect(await expectChargesMatchDeliveries(payer)).toBe(0);
    proxy.set('/verify', { kind: 'pass' });
    proxy.set('/settle', { kind: 'slow', delayMs: 2_000 });
    expect((await retryUntilFinal(gateway.url, body, payment.header, payer)).status).toBe(200);
    expect(await expectChargesMatchDeliveries(payer)).toBe(1);
    resetProxy();
  }, 30_000);

  it('garbage from verify is never taken as a yes', async () => {
    resetProxy();
    const gateway = await gatewayWith();
    const payer = await fundedPayer(devnet);
    const payment = await signPayment(payer, seller);
    const body = { request_id: 'fac-garbage', prompt: 'a tall tree' };
    const garbage = [
      { status: 200, body: '<html>oops</html>' },
      { status: 200, body: '{"isValid":"true"}' },
      { status: 200, body: '{}' },
      { status: 500, body: '{"isValid":true}' },
      { status: 200, body: 'null' },
    ];
    const settlesBefore = proxy.calls.settle;
    for (const g of garbage) {
      proxy.set('/verify', { kind: 'garbage', ...g });
      const r = await purchase(gateway.url, body, payment.header, payer);
      expect([402, 502, 503], `${g.status} ${g.body} → ${r.status}`).toContain(r.status);
      expect(r.body.image).toBeUndefined();
    }
    expect(proxy.calls.settle).toBe(settlesBefore);
    expect(await expectChargesMatchDeliveries(payer)).toBe(0);
    resetProxy();
    expect((await purchase(gateway.url, body, payment.header, payer)).status).toBe(200);
    expect(await expectChargesMatchDeliveries(payer)).toBe(1);
  }, 30_000);

  it('settle executed on chain but the answer is garbage: record kept, a retry delivers that transfer', async () => {
    resetProxy();
    const gateway = await gatewayWith();
    const payer = await fundedPayer(devnet);
    const payment = await signPayment(payer, seller);
    const body = { request_id: 'fac-settle-garbage', prompt: 'a quiet lake' };
    proxy.set('/settle', { kind: 'forward-then-garbage' });
    const first = await purchase(gateway.url, body, payment.header, payer);
    expect(first.status).not.toBe(200);
    expect(first.body.image).toBeUndefined();
    // The money moved; the record must survive so the client gets its image on retry.
    expect((await transfersBetween(devnet, payer.address, seller)).length).toBe(1);
    resetProxy();
    const retried = await retryUntilFinal(gateway.url, body, payment.header, payer);
    expect(retried.status).toBe(200);
    expect(await expectChargesMatchDeliveries(payer)).toBe(1);
  }, 30_000);

  it('settle connection dropped before it reached the facilitator: a retry settles once', async () => {
    resetProxy();
    const gateway = await gatewayWith();
    const payer = await fundedPayer(devnet);
    const payment = await signPayment(payer, seller);
    const body = { request_id: 'fac-settle-down', prompt: 'a snowy peak' };
    proxy.set('/settle', { kind: 'down' });
    const first = await purchase(gateway.url, body, payment.header, payer);
    expect(first.status).not.toBe(200);
    expect(await expectChargesMatchDeliveries(payer)).toBe(0);
    resetProxy();
    const retried = await retryUntilFinal(gateway.url, body, payment.header, payer);
    expect(retried.status).toBe(200);
    expect(await expectChargesMatchDeliveries(payer)).toBe(1);
  }, 30_000);
});

describe('chain faults', () => {
  it('RPC goes down mid-settlement: no charge without content once it is back', async () => {
    resetProxy();
    const gateway = await gatewayWith();
    const payer = await fundedPayer(devnet);
    const payment = await signPayment(payer, seller);
    const body = { request_id: 'rpc-cut', prompt: 'a city at night' };
    proxy.set('/settle', { kind: 'hold' });
    const pending = purchase(gateway.url, body, payment.header, payer);
    await proxy.waitHeld('/settle');
    rpcProxy.cut();
    const release = proxy.releaseHeld(true);
    const first = await pending;
    await release;
    expect(first.status).not.toBe(200);
    rpcProxy.restore();
    resetProxy();
    const retried = await retryUntilFinal(gateway.url, body, payment.header, payer);
    expect([200, 402]).toContain(retried.status);
    const charges = await expectChargesMatchDeliveries(payer);
    expect(charges).toBe(retried.status === 200 ? 1 : 0);
  }, 60_000);

  it('settlement reverts (payer emptied between verify and settle): 402, nothing delivered, nothing charged', async () => {
    resetProxy();
    const gateway = await gatewayWith();
    const payer = await fundedPayer(devnet, 40_000n);
    const payment = await signPayment(payer, seller);
    const body = { request_id: 'revert', prompt: 'a broken bridge' };
    proxy.set('/settle', { kind: 'hold' });
    const pending = purchase(gateway.url, body, payment.header, payer);
    await proxy.waitHeld('/settle');
    const wallet = createWalletClient({
      account: privateKeyToAccount(payer.privateKey),
      chain: devnet.publicClient.chain,
      transport: http(devnet.rpcUrl),
    });
    const drain = await wallet.writeContract({
      address: devnet.usdcAddress,
      abi: erc20Abi,
      functionName: 'transfer',
      args: [devnet.accounts.deployer.address, 40_000n],
    });
    await devnet.publicClient.waitForTransactionReceipt({ hash: drain });
    await proxy.releaseHeld(true);
    const result = await pending;
    expect(result.status).toBe(402);
    expect(result.body.image).toBeUndefined();
    resetProxy();
    expect(await expectChargesMatchDeliveries(payer)).toBe(0);
  }, 30_000);
});

interface Child {
  process: ChildProcess;
  url: string;
  output: () => string;
}

async function spawnGateway(dataDir: string, clockOffsetMs: number): Promise<Child> {
  // node itself (not the tsx wrapper): SIGKILL must hit the process that holds the data dir.
  const child = spawn(process.execPath, ['--import', 'tsx', join(HERE, 'gateway-child.ts')], {
    cwd: ROOT,
    env: {
      ...process.env,
      DATA_DIR: dataDir,
      SELLER_ADDRESS: seller,
      FACILITATOR_URL: proxy.url,
      RPC_URL: devnet.rpcUrl,
      CLOCK_OFFSET_MS: String(clockOffsetMs),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (c: Buffer) => {
    stdout += c.toString();
  });
  child.stderr?.on('data', (c: Buffer) => {
    stderr += c.toString();
  });
  const deadline = Date.now() + 45_000;
  while (!stdout.includes('\n')) {
    if (child.exitCode !== null) throw new Error(`gateway child exited ${child.exitCode}: ${stderr}`);
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`gateway child not ready: ${stderr}`);
    }
    await sleep(50);
  }
  const { url } = JSON.parse(stdout.split('\n')[0] as string) as { url: string };
  return { process: child, url, output: () => stderr };
}

async function kill9(child: Child) {
  const exited = new Promise<void>((resolve) => child.process.once('exit', () => resolve()));
  child.process.kill('SIGKILL');
  await exited;
}

describe('gateway killed -9 and restarted on the same data directory', () => {
  const cases = [
    {
      name: 'killed while settle is in flight; the settle then lands on chain',
      hold: '/settle',
      forward: true,
    },
    { name: 'killed while settle is in flight; the settle never arrives', hold: '/settle', forward: false },
    { name: 'killed during verify (pending reservation)', hold: '/verify', forward: false },
  ] as const;
  for (const c of cases) {
    it(c.name, async () => {
      resetProxy();
      const data = tempDir('reliability-kill-');
      cleanups.push(data.remove);
      const payer = await fundedPayer(devnet);
      const payment = await signPayment(payer, seller);
      const body = { request_id: `kill-${c.hold.slice(1)}-${c.forward}`, prompt: 'a lantern in fog' };
      const first = await spawnGateway(data.dir, 0);
      try {
        proxy.set(c.hold, { kind: 'hold' });
        const inFlight = buy(first.url, body, payment.header, 30_000).catch(
          (error: unknown): PostResult => ({ status: -1, body: { error: String(error) } }),
        );
        await proxy.waitHeld(c.hold);
        await kill9(first);
        const answer = await inFlight;
        expect(answer.status).toBe(-1);
        await proxy.releaseHeld(c.forward);
      } finally {
        if (first.process.exitCode === null && first.process.signalCode === null) await kill9(first);
      }
      resetProxy();
      const onChainAfterKill = (await transfersBetween(devnet, payer.address, seller)).length;
      expect(onChainAfterKill).toBe(c.forward ? 1 : 0);

      // Restart on the same data dir. The clock offset stands in for the lease having passed.
      const second = await spawnGateway(data.dir, 130_000);
      try {
        const retried = await retryUntilFinal(second.url, body, payment.header, payer);
        expect(retried.status, second.output().slice(-2000)).toBe(200);
        const charges = await expectChargesMatchDeliveries(payer);
        expect(charges).toBe(1);
        // The stored result answers later retries; nothing settles twice.
        const again = await purchase(second.url, body, payment.header, payer);
        expect(again.status).toBe(200);
        expect(again.body.transaction_hash).toBe(retried.body.transaction_hash);
        expect(await expectChargesMatchDeliveries(payer)).toBe(1);
      } finally {
        await kill9(second);
      }
    }, 100_000);
  }
});

describe('generator hang (started in beforeAll)', () => {
  it('a hanging generator is cut at the gateway deadline, nothing is charged, the payment stays usable', async () => {
    const outcome = await hangCase;
    expect([502, 504]).toContain(outcome.status);
    expect(outcome.elapsedMs).toBeLessThan(75_000);
    expect(outcome.retryStatus).toBe(200);
    expect(await expectChargesMatchDeliveries(outcome.payer)).toBe(1);
  }, 90_000);

  it('a generator that ignores the abort signal is still cut at the gateway deadline', async () => {
    const outcome = await deafHangCase;
    expect(outcome.status).toBe(504);
    expect(outcome.elapsedMs).toBeLessThan(75_000);
    // Released at the deadline: the same payment then buys the image, once.
    expect(outcome.retryStatus).toBe(200);
    expect(await expectChargesMatchDeliveries(outcome.payer)).toBe(1);
  }, 90_000);
});
