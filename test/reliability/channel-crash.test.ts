/**
 * batch-settlement crash safety (issue 16, item 6): the gateway process is killed -9 between
 * storing a purchase's image and committing its channel charge, then restarted on the same data
 * directory (its dynalite and images). The buyer retries the same request with the same voucher.
 * The chain is the judge after the restarted gateway's shutdown claim + settle: the seller receives
 * exactly price × images delivered — no double charge, no lost charge.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Devnet } from '@agentic-payments/devnet';
import type { RunningFacilitator } from '@agentic-payments/facilitator';
import { encodeHeader, priceForImage } from '@agentic-payments/x402';
import type { PaymentRequirements } from '@x402/core/types';
import { toClientEvmSigner } from '@x402/evm';
import {
  computeChannelId,
  createBatchSettlementEIP3009DepositPayload,
  signVoucher,
} from '@x402/evm/batch-settlement/client';
import type { Hex } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  bootDevnet,
  bootFacilitator,
  type Cleanup,
  freshSeller,
  fundedPayer,
  network,
  sleep,
  tempDir,
} from './harness.ts';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = join(HERE, '..', '..');
const PRICE = priceForImage({ size: '1024x1024', quality: 'standard' });
/** Past the purchase lease (120 s) of the dead holder, as a real restart-and-retry would be. */
const AFTER_LEASE_MS = 125_000;

let devnet: Devnet;
let facilitator: RunningFacilitator;
const cleanups: Cleanup[] = [];

beforeAll(async () => {
  devnet = await bootDevnet();
  cleanups.push(() => devnet.stop());
  facilitator = await bootFacilitator(devnet.rpcUrl, devnet.accounts.settler.privateKey);
  cleanups.push(() => facilitator.stop());
});
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

interface Child {
  process: ChildProcess;
  url: string;
  exited: Promise<number | null>;
  output: () => string;
}

async function spawnGateway(env: Record<string, string>): Promise<Child> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(HERE, 'gateway-channel-child.ts')], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
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
  return { process: child, url, exited, output: () => stderr };
}

const post = (url: string, requestId: string, header: string) =>
  fetch(`${url}/generate_image`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'payment-signature': header },
    body: JSON.stringify({ request_id: requestId, prompt: `crash test ${requestId}` }),
  });

describe('batch-settlement: gateway killed -9 between the image being stored and the charge committed', () => {
  it('the retry after restart charges once; the chain pays the seller exactly price × images delivered', async () => {
    const seller = await freshSeller(devnet);
    const payer = await fundedPayer(devnet, 1_000_000n);
    const data = tempDir('reliability-channel-kill-');
    cleanups.push(data.remove);
    const env = {
      DATA_DIR: data.dir,
      SELLER_ADDRESS: seller,
      FACILITATOR_URL: facilitator.url,
      RPC_URL: devnet.rpcUrl,
    };

    // Gateway A dies right after storing its 2nd image (r1's), before committing r1's charge.
    const a = await spawnGateway({ ...env, DIE_AFTER_IMAGES: '2' });
    const quote = await fetch(`${a.url}/generate_image`, { method: 'GET' });
    const offered = JSON.parse(Buffer.from(quote.headers.get('payment-required') ?? '', 'base64').toString());
    const offer = (offered.accepts as PaymentRequirements[]).find((x) => x.scheme === 'batch-settlement');
    if (offer === undefined) throw new Error(`no batch-settlement offer: ${JSON.stringify(offered)}`);

    const account = privateKeyToAccount(payer.privateKey);
    const signer = toClientEvmSigner(account);
    const config = {
      payer: account.address,
      payerAuthorizer: account.address,
      receiver: seller,
      receiverAuthorizer: offer.extra.receiverAuthorizer as `0x${string}`,
      token: offer.asset as `0x${string}`,
      withdrawDelay: offer.extra.withdrawDelay as number,
      salt: `0x${'00'.repeat(32)}` as Hex,
    };
    const channelId = computeChannelId(config, network.caip2);
    const deposit = await createBatchSettlementEIP3009DepositPayload(
      signer,
      2,
      offer,
      config,
      (10n * PRICE).toString(),
      PRICE.toString(),
    );
    const first = await post(
      a.url,
      'r0',
      encodeHeader({ x402Version: 2, accepted: offer, payload: deposit.payload }),
    );
    expect(first.status, a.output()).toBe(200);

    const voucher = encodeHeader({
      x402Version: 2,
      accepted: offer,
      payload: {
        type: 'voucher',
        channelConfig: config,
        voucher: await signVoucher(signer, channelId, (2n * PRICE).toString(), network.caip2),
      },
    });
    await expect(post(a.url, 'r1', voucher)).rejects.toThrow(); // the connection dies with the process
    expect(await a.exited).toBeNull(); // killed by a signal

    // Gateway B on the same data directory, its clock past the dead holder's lease.
    const b = await spawnGateway({ ...env, CLOCK_OFFSET_MS: String(AFTER_LEASE_MS) });
    const retry = await post(b.url, 'r1', voucher);
    expect(retry.status, b.output()).toBe(200);
    const retried = (await retry.json()) as { charged_cumulative_amount: string; image_id: string };
    expect(retried.charged_cumulative_amount).toBe((2n * PRICE).toString());
    // The same request again: the stored result, no second charge.
    const replay = await post(b.url, 'r1', voucher);
    expect(replay.status).toBe(200);
    expect(((await replay.json()) as { image_id: string }).image_id).toBe(retried.image_id);
    // The next image continues from the committed cumulative amount.
    const next = encodeHeader({
      x402Version: 2,
      accepted: offer,
      payload: {
        type: 'voucher',
        channelConfig: config,
        voucher: await signVoucher(signer, channelId, (3n * PRICE).toString(), network.caip2),
      },
    });
    expect((await post(b.url, 'r2', next)).status).toBe(200);

    // A graceful stop claims and settles: the chain pays exactly 3 images.
    b.process.kill('SIGTERM');
    expect(await b.exited).toBe(0);
    expect(await devnet.usdcBalance(seller)).toBe(3n * PRICE);
    expect(await devnet.usdcBalance(payer.address)).toBe(1_000_000n - 10n * PRICE);
  }, 120_000);
});
