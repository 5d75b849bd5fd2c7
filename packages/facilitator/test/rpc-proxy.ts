import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A JSON-RPC proxy in front of the devnet. While `dropReceipts` is on it answers `null` to every
 * `eth_getTransactionReceipt` and turns `eth_sendRawTransactionSync` into a plain send answered
 * with anvil's confirmation-timeout error: the chain mines, the facilitator never sees a receipt.
 * While `resetSends` is on, a request that sends a transaction is forwarded and then its
 * connection is cut: the node has the transaction, the facilitator gets no answer.
 */
export async function startReceiptDroppingProxy(upstream: string) {
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
