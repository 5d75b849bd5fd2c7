import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKeepAliveFetch } from './keep-alive-fetch.ts';

let server: Server;
let url: string;
const connections: unknown[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (req.url === '/empty') {
        res.statusCode = 204;
        res.end();
        return;
      }
      if (req.url === '/slow') {
        setTimeout(() => res.end('late'), 2_000);
        return;
      }
      res.setHeader('content-type', 'application/json');
      res.setHeader('x-echo', req.headers['x-echo'] ?? '');
      res.statusCode = req.url === '/teapot' ? 418 : 200;
      res.end(JSON.stringify({ method: req.method, body: Buffer.concat(chunks).toString('utf8') }));
    });
  });
  server.on('connection', (socket) => connections.push(socket));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(
  () =>
    new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    }),
);

describe('createKeepAliveFetch', () => {
  it('posts a body with headers and answers a standard Response, over one kept-alive connection', async () => {
    const fetchLike = createKeepAliveFetch();
    const before = connections.length;
    for (const body of ['{"a":1}', new TextEncoder().encode('{"b":2}')]) {
      const res = await fetchLike(`${url}/echo`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-echo': 'hi' },
        body,
      });
      expect([res.status, res.ok, res.headers.get('x-echo')]).toStrictEqual([200, true, 'hi']);
      expect(await res.json()).toStrictEqual({
        method: 'POST',
        body: typeof body === 'string' ? body : '{"b":2}',
      });
    }
    expect(connections.length - before).toBe(1);
  });

  it('answers error statuses and bodiless ones as they are', async () => {
    const fetchLike = createKeepAliveFetch();
    expect((await fetchLike(`${url}/teapot`)).status).toBe(418);
    const empty = await fetchLike(`${url}/empty`, { method: 'POST', body: 'x' });
    expect([empty.status, await empty.text()]).toStrictEqual([204, '']);
  });

  it('rejects with the signal’s reason when aborted, like fetch (TimeoutError for a timeout)', async () => {
    const fetchLike = createKeepAliveFetch();
    const error = await fetchLike(`${url}/slow`, { signal: AbortSignal.timeout(50) }).catch(
      (e: unknown) => e,
    );
    expect((error as Error).name).toBe('TimeoutError');
  });

  it('keeps the connection error’s code when nothing listens', async () => {
    const error = await createKeepAliveFetch()('http://127.0.0.1:1/').catch((e: unknown) => e);
    expect((error as { code?: string }).code).toBe('ECONNREFUSED');
  });
});
