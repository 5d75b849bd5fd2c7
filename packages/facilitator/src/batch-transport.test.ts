import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createPublicClient, HttpRequestError, RpcRequestError } from 'viem';
import { baseSepolia } from 'viem/chains';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { batchTransport } from './batch-transport.ts';

type Call = { id: number; method: string; params: unknown[] };

/** A JSON-RPC node stand-in: records each HTTP request's calls; `eth_fail` answers an error. */
let server: Server;
let url: string;
const requests: Call[][] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Call | Call[];
      const calls = Array.isArray(body) ? body : [body];
      requests.push(calls);
      const replies = calls.map((c) =>
        c.method === 'eth_fail'
          ? {
              jsonrpc: '2.0',
              id: c.id,
              error: { code: 3, message: 'execution reverted', data: '0x08c379a0' },
            }
          : { jsonrpc: '2.0', id: c.id, result: `${c.method}:${JSON.stringify(c.params)}` },
      );
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify(Array.isArray(body) ? replies : replies[0]));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

const clientFor = (target: string, onRequest?: () => void) =>
  createPublicClient({ chain: baseSepolia, transport: batchTransport(target, { onRequest }) });
const call = (client: ReturnType<typeof clientFor>, method: string, params: unknown[] = []) =>
  // biome-ignore lint/suspicious/noExplicitAny: raw JSON-RPC methods of the stand-in
  client.request({ method, params } as any) as Promise<unknown>;

describe('batchTransport', () => {
  it('sends the calls made in one turn (promise chains included) as one request, in order', async () => {
    requests.length = 0;
    let sent = 0;
    const client = clientFor(url, () => sent++);
    const later = Promise.resolve()
      .then(() => undefined)
      .then(() => call(client, 'eth_c', [3]));
    const answers = await Promise.all([call(client, 'eth_a', [1]), call(client, 'eth_b', [2]), later]);
    expect(answers).toStrictEqual(['eth_a:[1]', 'eth_b:[2]', 'eth_c:[3]']);
    expect(requests.map((r) => r.map((c) => c.method))).toStrictEqual([['eth_a', 'eth_b', 'eth_c']]);
    expect(sent).toBe(1);
  });

  it('sends calls from separate turns separately, without waiting for a timer', async () => {
    requests.length = 0;
    const client = clientFor(url);
    await call(client, 'eth_a');
    await call(client, 'eth_b');
    expect(requests.map((r) => r.map((c) => c.method))).toStrictEqual([['eth_a'], ['eth_b']]);
  });

  it('rejects only the call the node refused, as an RpcRequestError with the code and data', async () => {
    const client = clientFor(url);
    const [ok, failed] = await Promise.allSettled([call(client, 'eth_a'), call(client, 'eth_fail')]);
    expect(ok).toStrictEqual({ status: 'fulfilled', value: 'eth_a:[]' });
    expect(failed.status).toBe('rejected');
    const reason = (failed as PromiseRejectedResult).reason as Error;
    let cause: unknown = reason;
    while (cause instanceof Error && !(cause instanceof RpcRequestError)) cause = cause.cause;
    expect(cause).toBeInstanceOf(RpcRequestError);
    expect((cause as RpcRequestError).code).toBe(3);
  });

  it('rejects every call with viem’s HttpRequestError when the request gets no answer', async () => {
    const client = clientFor('http://127.0.0.1:1');
    const results = await Promise.allSettled([call(client, 'eth_a'), call(client, 'eth_b')]);
    for (const result of results) {
      expect(result.status).toBe('rejected');
      let cause: unknown = (result as PromiseRejectedResult).reason;
      while (cause instanceof Error && !(cause instanceof HttpRequestError)) cause = cause.cause;
      expect(cause).toBeInstanceOf(HttpRequestError);
    }
  });
});
