import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Hex } from 'viem';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  type FacilitatorFixture,
  freshSeller,
  PRICE,
  postJson,
  requirementsV1,
  requirementsV2,
  signV1,
  signV2,
  startFixture,
} from './devnet-helpers.ts';

/**
 * A JSON-RPC proxy in front of the devnet that, while `dropReceipts` is on, answers `null` to
 * every `eth_getTransactionReceipt`: the chain mines, but the facilitator never sees a receipt.
 */
async function startReceiptDroppingProxy(upstream: string) {
  const state = { dropReceipts: true };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', async () => {
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
      const calls = (Array.isArray(body) ? body : [body]) as Array<{ id: unknown; method: string }>;
      const forward = calls.filter((c) => !(state.dropReceipts && c.method === 'eth_getTransactionReceipt'));
      const forwarded =
        forward.length === 0
          ? []
          : ((await (
              await fetch(upstream, {
                method: 'POST',
                headers: { 'content-type': 'application/json' },
                body: JSON.stringify(forward),
              })
            ).json()) as Array<{ id: unknown }>);
      const replies = calls.map(
        (c) => forwarded.find((r) => r.id === c.id) ?? { jsonrpc: '2.0', id: c.id, result: null },
      );
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify(Array.isArray(body) ? replies : replies[0]));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    state,
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

let proxy: Awaited<ReturnType<typeof startReceiptDroppingProxy>>;
let fx: FacilitatorFixture;

beforeAll(async () => {
  proxy = await startReceiptDroppingProxy(inject('devnet').rpcUrl);
  fx = await startFixture({ rpcUrl: proxy.url, receiptTimeoutMs: 300 });
});

afterAll(async () => {
  await fx?.facilitator.stop();
  await proxy?.stop();
});

describe('when no receipt arrives within the receipt timeout', () => {
  it.each([
    ['v2', 'eip155:84532'],
    ['v1', 'base-sepolia'],
  ])(
    'answers settlement_pending with the hash (%s), then reconciles on a retried settle',
    async (version, network) => {
      proxy.state.dropReceipts = true;
      const [payer] = await fx.devnet.fundPayers(1, 1_000_000n);
      if (!payer) throw new Error('no payer');
      const seller = freshSeller();
      const body =
        version === 'v2'
          ? await (async () => {
              const paymentPayload = await signV2(payer, requirementsV2(fx.devnet, seller));
              return { x402Version: 2, paymentPayload, paymentRequirements: paymentPayload.accepted };
            })()
          : await (async () => {
              const paymentRequirements = requirementsV1(fx.devnet, seller);
              return {
                x402Version: 1,
                paymentPayload: await signV1(payer, paymentRequirements),
                paymentRequirements,
              };
            })();

      const started = performance.now();
      const pending = await postJson(`${fx.facilitator.url}/settle`, body);
      expect(performance.now() - started).toBeLessThan(5_000);
      expect(pending.status).toBe(200);
      expect(pending.json).toMatchObject({
        success: false,
        errorReason: 'settlement_pending',
        network,
        payer: payer.address,
      });
      const hash = pending.json.transaction as Hex;
      expect(hash).toMatch(/^0x[0-9a-f]{64}$/);
      // The transaction did reach the chain: the devnet itself has its receipt.
      const receipt = await fx.devnet.publicClient.getTransactionReceipt({ hash });
      expect(receipt.status).toBe('success');
      expect(await fx.devnet.usdcBalance(seller)).toBe(PRICE);

      proxy.state.dropReceipts = false;
      const retried = await postJson(`${fx.facilitator.url}/settle`, body);
      expect(retried.json).toMatchObject({ success: true, transaction: hash, network, payer: payer.address });
      expect(await fx.devnet.usdcBalance(seller)).toBe(PRICE);
    },
  );
});
