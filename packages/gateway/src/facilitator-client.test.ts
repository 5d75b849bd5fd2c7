import { generateKeyPairSync } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { isAppError } from '@agentic-payments/x402';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closedPortUrl } from '../test/closed-port.ts';
import { createHttpFacilitatorClient, FacilitatorUnavailableError } from './facilitator-client.ts';

type Handler = (path: string, auth: string | undefined) => { status: number; body: string; delayMs?: number };
let handler: Handler = () => ({ status: 200, body: '{}' });
let server: Server;
let url: string;

beforeAll(async () => {
  server = createServer((req, res) => {
    const reply = handler(req.url ?? '', req.headers.authorization);
    setTimeout(() => {
      res.writeHead(reply.status, { 'content-type': 'application/json' });
      res.end(reply.body);
    }, reply.delayMs ?? 0);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

const request = { x402Version: 2 as const, paymentPayload: {}, paymentRequirements: {} };

async function failure(promise: Promise<unknown>) {
  try {
    await promise;
  } catch (error) {
    if (error instanceof FacilitatorUnavailableError) {
      return { code: error.code, status: error.httpStatus, delivered: error.delivered };
    }
    if (isAppError(error)) return { code: error.code, status: error.httpStatus };
    throw error;
  }
  throw new Error('expected a rejection');
}

describe('createHttpFacilitatorClient', () => {
  it('reads a claim’s `amount: ""` (no funds moved) as absent and sends our facilitator’s bearer token', async () => {
    const seen: Array<string | undefined> = [];
    handler = (_path, auth) => {
      seen.push(auth);
      return {
        status: 200,
        body: JSON.stringify({
          success: true,
          transaction: `0x${'1'.repeat(64)}`,
          network: 'eip155:84532',
          amount: '',
        }),
      };
    };
    const client = createHttpFacilitatorClient({ url, bearerToken: 't'.repeat(24) });
    expect(await client.settle(request)).toStrictEqual({
      success: true,
      transaction: `0x${'1'.repeat(64)}`,
      network: 'eip155:84532',
    });
    expect(seen).toStrictEqual([`Bearer ${'t'.repeat(24)}`]);
  });

  it('returns verify and settle replies as values, including rejections on 4xx', async () => {
    handler = (path) =>
      path === '/verify'
        ? {
            status: 400,
            body: JSON.stringify({ isValid: false, invalidReason: 'invalid_exact_evm_signature' }),
          }
        : {
            status: 200,
            body: JSON.stringify({ success: true, transaction: '0xabc', network: 'eip155:84532' }),
          };
    const client = createHttpFacilitatorClient({ url });
    expect(await client.verify(request)).toStrictEqual({
      isValid: false,
      invalidReason: 'invalid_exact_evm_signature',
    });
    expect(await client.settle(request)).toStrictEqual({
      success: true,
      transaction: '0xabc',
      network: 'eip155:84532',
    });
  });

  it.each([
    ['a 5xx', { status: 502, body: '{"isValid":true}' }],
    ['garbage', { status: 200, body: '<html>' }],
    ['an unexpected body', { status: 200, body: '{"ok":true}' }],
    ['a 401', { status: 401, body: '{"isValid":false}' }],
  ])('turns %s into facilitator_unavailable (503)', async (_name, reply) => {
    handler = () => reply;
    const result = await failure(createHttpFacilitatorClient({ url }).verify(request));
    expect(result).toStrictEqual({
      code: 'facilitator_unavailable',
      status: 503,
      delivered: true,
    });
  });

  it('times out slow calls as facilitator_unavailable', async () => {
    handler = () => ({ status: 200, body: '{"isValid":true}', delayMs: 500 });
    const client = createHttpFacilitatorClient({ url, verifyTimeoutMs: 50 });
    expect((await failure(client.verify(request))).code).toBe('facilitator_unavailable');
  });

  it('marks a refused connection as never delivered (safe to release a reservation)', async () => {
    const client = createHttpFacilitatorClient({ url: await closedPortUrl() });
    expect(await failure(client.settle(request))).toStrictEqual({
      code: 'facilitator_unavailable',
      status: 503,
      delivered: false,
    });
  });

  it('sends a CDP JWT bearer for each call when kind is cdp', async () => {
    const seen: Array<string | undefined> = [];
    handler = (_path, auth) => {
      seen.push(auth);
      return { status: 200, body: JSON.stringify({ kinds: [] }) };
    };
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    const client = createHttpFacilitatorClient({
      url,
      kind: 'cdp',
      cdpApiKeyId: 'organizations/test/apiKeys/test',
      cdpApiKeySecret: privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(),
    });
    await client.supported();
    expect(seen[0]).toMatch(/^Bearer [\w-]+\.[\w-]+\.[\w-]+$/);
    const claims = JSON.parse(Buffer.from((seen[0] ?? '').split('.')[1] ?? '', 'base64url').toString());
    expect(claims.uris).toStrictEqual([`GET ${new URL(url).host}/supported`]);
  });

  it('reports an unusable CDP key as invalid_config, not as an outage', async () => {
    const client = createHttpFacilitatorClient({
      url,
      kind: 'cdp',
      cdpApiKeyId: 'id',
      cdpApiKeySecret: 'not-a-key',
    });
    expect(await failure(client.supported())).toMatchObject({ code: 'invalid_config', status: 500 });
  });

  it('refuses kind cdp without credentials', () => {
    expect(() => createHttpFacilitatorClient({ url, kind: 'cdp' })).toThrow(/CDP_API_KEY_ID/);
  });
});
