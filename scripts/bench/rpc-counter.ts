import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RpcCounter {
  url: string;
  /** HTTP requests received (a JSON-RPC batch counts once) and JSON-RPC calls by method. */
  snapshot(): { httpRequests: number; calls: Record<string, number> };
  reset(): void;
  stop(): Promise<void>;
}

/**
 * A counting pass-through in front of the devnet's JSON-RPC: used only to count the round trips a
 * facilitator makes per verify / settle (it adds one loopback hop, so no latency is taken from it).
 */
export async function startRpcCounter(upstream: string): Promise<RpcCounter> {
  let httpRequests = 0;
  let calls: Record<string, number> = {};
  const server: Server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks).toString();
    httpRequests += 1;
    try {
      const parsed = JSON.parse(body) as { method?: string } | Array<{ method?: string }>;
      for (const call of Array.isArray(parsed) ? parsed : [parsed]) {
        const method = call.method ?? 'unknown';
        calls[method] = (calls[method] ?? 0) + 1;
      }
    } catch {
      calls.unparseable = (calls.unparseable ?? 0) + 1;
    }
    const reply = await fetch(upstream, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
    });
    res.writeHead(reply.status, { 'content-type': 'application/json' });
    res.end(await reply.text());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    snapshot: () => ({ httpRequests, calls: { ...calls } }),
    reset: () => {
      httpRequests = 0;
      calls = {};
    },
    stop: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
