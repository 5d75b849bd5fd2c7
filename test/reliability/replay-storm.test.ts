/**
 * Case 1, replay storm: one valid authorization sent 1,000 times at once to two gateway instances
 * sharing one payment store (one dynalite) settles exactly once on chain; every other answer is a
 * 409 or the stored 200 result of that one settlement.
 */
import type { Devnet } from '@agentic-payments/devnet';
import type { RunningFacilitator } from '@agentic-payments/facilitator';
import type { LocalDynamo } from '@agentic-payments/gateway';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  authorizationsUsed,
  bootDevnet,
  bootDynamo,
  bootFacilitator,
  bootGateway,
  buy,
  type Cleanup,
  freshSeller,
  fundedPayer,
  type PostResult,
  PRICE,
  signPayment,
  type TestGateway,
  tempDir,
  transfersBetween,
} from './harness.ts';

const STORM = 1_000;
let devnet: Devnet;
let facilitator: RunningFacilitator;
let dynamo: LocalDynamo;
const gateways: TestGateway[] = [];
const cleanups: Cleanup[] = [];
let seller: `0x${string}`;

beforeAll(async () => {
  devnet = await bootDevnet();
  cleanups.push(() => devnet.stop());
  facilitator = await bootFacilitator(devnet.rpcUrl, devnet.accounts.settler.privateKey);
  cleanups.push(() => facilitator.stop());
  const data = tempDir('reliability-storm-');
  cleanups.push(data.remove);
  dynamo = await bootDynamo(data.dir);
  cleanups.push(() => dynamo.stop());
  seller = await freshSeller(devnet);
  // Two instances share what a deployment shares: the payment table and the image bucket (here one
  // directory). Sequential starts: both create (or find) the same table on the shared dynalite.
  for (let i = 0; i < 2; i += 1) {
    const gateway = await bootGateway({
      sellerAddress: seller,
      facilitatorUrl: facilitator.url,
      dataDir: `${data.dir}/shared`,
      dynamodbEndpoint: dynamo.endpoint,
      rpcUrl: devnet.rpcUrl,
    });
    gateways.push(gateway);
    cleanups.push(() => gateway.stop());
  }
}, 60_000);

afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

describe('replay storm', () => {
  it('settles one authorization exactly once across 1,000 concurrent requests on 2 gateways', async () => {
    const payer = await fundedPayer(devnet);
    const payment = await signPayment(payer, seller);
    const body = { request_id: 'storm-1', prompt: 'a lighthouse at dusk' };

    const started = Date.now();
    const results: PostResult[] = await Promise.all(
      Array.from({ length: STORM }, (_, i) =>
        buy((gateways[i % 2] as TestGateway).url, body, payment.header, 150_000).catch(
          (error: unknown): PostResult => ({ status: -1, body: { error: String(error) } }),
        ),
      ),
    );
    const elapsed = Date.now() - started;

    const byStatus = new Map<number, number>();
    for (const r of results) byStatus.set(r.status, (byStatus.get(r.status) ?? 0) + 1);
    const summary = Object.fromEntries(byStatus);
    const unhandled = gateways.flatMap((g) => g.logger.lines.filter((l) => l.includes('unhandled_error')));
    if (unhandled.length > 0)
      console.log(`[storm] unhandled: ${unhandled.length}, e.g. ${unhandled[0]?.slice(0, 600)}`);
    console.log(`[storm] ${STORM} requests in ${elapsed} ms: ${JSON.stringify(summary)}`);

    // Only 200 (the one settlement or its stored result) and 409 (in progress) are acceptable.
    expect(
      [...byStatus.keys()].every((s) => s === 200 || s === 409),
      JSON.stringify(summary),
    ).toBe(true);
    const ok = results.filter((r) => r.status === 200);
    expect(ok.length).toBeGreaterThanOrEqual(1);
    const hashes = new Set(ok.map((r) => r.body.transaction_hash));
    expect(hashes.size).toBe(1);
    const images = new Set(ok.map((r) => r.body.image_id));
    expect(images.size).toBe(1);
    for (const r of results.filter((x) => x.status === 409)) {
      expect(['payment_in_progress', 'authorization_reused']).toContain(r.body.error);
    }

    // The chain: exactly one transfer and one AuthorizationUsed for this payer.
    const transfers = await transfersBetween(devnet, payer.address, seller);
    expect(transfers).toHaveLength(1);
    expect(transfers[0]?.args.value).toBe(PRICE);
    expect(transfers[0]?.transactionHash).toBe([...hashes][0]);
    expect(await authorizationsUsed(devnet, payer.address)).toHaveLength(1);
    expect(await devnet.usdcBalance(payer.address)).toBe(1_000_000n - PRICE);

    // A late replay on either instance gets the stored result, never a second settlement.
    for (const gateway of gateways) {
      const late = await buy(gateway.url, body, payment.header);
      expect(late.status).toBe(200);
      expect(late.body.transaction_hash).toBe([...hashes][0]);
    }
    // The same authorization for a different request id is refused.
    const reuse = await buy(
      (gateways[1] as TestGateway).url,
      { ...body, request_id: 'storm-2' },
      payment.header,
    );
    expect(reuse.status).toBe(409);
    expect(reuse.body.error).toBe('authorization_reused');
    expect(await transfersBetween(devnet, payer.address, seller)).toHaveLength(1);
  }, 200_000);
});
