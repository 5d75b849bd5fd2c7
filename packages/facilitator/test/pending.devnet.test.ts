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
 * A JSON-RPC proxy in front of the devnet. While `dropReceipts` is on it answers `null` to every
 * `eth_getTransactionReceipt` and turns `eth_sendRawTransactionSync` into a plain send answered
 * with anvil's confirmation-timeout error: the chain mines, the facilitator never sees a receipt.
 * While `resetSends` is on, a request that sends a transaction is forwarded and then its
 * connection is cut: the node has the transaction, the facilitator gets no answer.
 */
async function startReceiptDroppingProxy(upstream: string) {
  const state = { dropReceipts: true, resetSends: false, syncTimeouts: 0 };
  type Call = { jsonrpc: '2.0'; id: unknown; method: string; params?: unknown[] };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', async () => {
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
      const calls = (Array.isArray(body) ? body : [body]) as Call[];
      const timedOut = new Set<unknown>();
      const forward = calls
        .filter((c) => !(state.dropReceipts && c.method === 'eth_getTransactionReceipt'))
        .map((c) => {
          if (!state.dropReceipts || c.method !== 'eth_sendRawTransactionSync') return c;
          timedOut.add(c.id);
          return { ...c, method: 'eth_sendRawTransaction' };
        });
      const forwarded =
        forward.length === 0
          ? []
          : ((await (
              await fetch(upstream, {
                method: 'POST',
                headers: { 'content-type': 'application/json' },
                body: JSON.stringify(forward),
              })
            ).json()) as Array<{ id: unknown; result?: unknown }>);
      if (state.resetSends && calls.some((c) => c.method.startsWith('eth_sendRawTransaction'))) {
        // The node took the transactions; the answer is lost on the way back.
        res.socket?.destroy();
        return;
      }
      const replies = calls.map((c) => {
        const reply = forwarded.find((r) => r.id === c.id);
        if (reply !== undefined && timedOut.has(c.id) && 'result' in reply) {
          state.syncTimeouts += 1;
          return {
            jsonrpc: '2.0',
            id: c.id,
            error: { code: -32603, message: 'Transaction confirmation timeout' },
          };
        }
        return reply ?? { jsonrpc: '2.0', id: c.id, result: null };
      });
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
      const syncTimeoutsBefore = proxy.state.syncTimeouts;
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
      // The devnet facilitator broadcasts with eth_sendRawTransactionSync; its timeout answer was seen.
      expect(proxy.state.syncTimeouts).toBe(syncTimeoutsBefore + 1);
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

describe('when the broadcast request gets no answer (the node took it, the reply was lost)', () => {
  it('waits for the receipt and answers the settlement, not a failure; the next settle still works', async () => {
    proxy.state.dropReceipts = false;
    const payers = await fx.devnet.fundPayers(2, 1_000_000n);
    const seller = freshSeller();
    const settleOnce = async (payer: (typeof payers)[number]) => {
      const paymentPayload = await signV2(payer, requirementsV2(fx.devnet, seller));
      return postJson(`${fx.facilitator.url}/settle`, {
        x402Version: 2,
        paymentPayload,
        paymentRequirements: paymentPayload.accepted,
      });
    };
    const [first, second] = payers;
    if (!first || !second) throw new Error('no payers');
    const resyncs = fx.facilitator.stats().nonceResyncs;

    proxy.state.resetSends = true;
    const lost = await settleOnce(first).finally(() => {
      proxy.state.resetSends = false;
    });
    expect(lost.json).toMatchObject({ success: true, payer: first.address });
    expect(await fx.devnet.usdcBalance(seller)).toBe(PRICE);
    expect(fx.facilitator.stats().nonceResyncs).toBe(resyncs + 1);

    expect((await settleOnce(second)).json).toMatchObject({ success: true, payer: second.address });
    expect(await fx.devnet.usdcBalance(seller)).toBe(2n * PRICE);
  });
});
