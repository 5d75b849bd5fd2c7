import { Hono } from 'hono';
import { describe, expect, it } from 'vitest';
import {
  HTTP_API_TIMEOUT_MS,
  LAMBDA_SYNC_RESPONSE_MAX_BYTES,
  lambdaResultBytes,
  withAwsLimits,
} from './aws-limits.ts';
import { DEFAULT_PURCHASE_DEADLINE } from './purchase-image.ts';

function appAnswering(bytes: number) {
  const app = new Hono();
  app.get('/json', (c) => c.json({ data: 'a'.repeat(bytes) }));
  app.get('/images/x', (c) =>
    c.body(new Uint8Array(bytes).buffer as ArrayBuffer, 200, { 'content-type': 'image/png' }),
  );
  return app;
}

describe('lambdaResultBytes', () => {
  it('counts the body inside the Lambda result (quotes escaped, headers and status included)', async () => {
    const response = Response.json({ a: 'b' });
    const expected = JSON.stringify({
      statusCode: 200,
      headers: { 'content-type': 'application/json' },
      body: '{"a":"b"}',
      isBase64Encoded: false,
    });
    expect(await lambdaResultBytes(response)).toBe(Buffer.byteLength(expected));
    expect(await response.json()).toStrictEqual({ a: 'b' });
  });

  it('equals the length of the serialized result for every kind of text and binary body', async () => {
    // The result as hono/aws-lambda builds it, serialized: what the fast count must equal.
    const serialized = (status: number, headers: Headers, body: Uint8Array, base64: boolean) =>
      Buffer.byteLength(
        JSON.stringify({
          statusCode: status,
          headers: Object.fromEntries(headers),
          body: base64 ? Buffer.from(body).toString('base64') : new TextDecoder().decode(body),
          isBase64Encoded: base64,
        }),
      );
    const enc = new TextEncoder();
    const bodies: Array<[string, Uint8Array, string]> = [
      [
        'json with quotes and backslashes',
        enc.encode(JSON.stringify({ a: 'say "hi" \\ c:\\path' })),
        'application/json',
      ],
      ['every control character', Uint8Array.from({ length: 32 }, (_, i) => i), 'text/plain'],
      [
        'non-ASCII, U+2028 and emoji',
        enc.encode('é ü 漢字 \u2028 \u{1F600} \x7f'),
        'text/plain; charset=utf-8',
      ],
      [
        'invalid UTF-8',
        Uint8Array.from([0x61, 0xc3, 0x28, 0xe2, 0x82, 0xed, 0xa0, 0x80, 0xff, 0x22]),
        'text/plain',
      ],
      ['empty', new Uint8Array(0), 'application/json'],
      [
        'binary of every length mod 3',
        Uint8Array.from({ length: 3_001 }, (_, i) => (i * 7) & 0xff),
        'image/png',
      ],
      [
        'random bytes as text',
        Uint8Array.from({ length: 4_096 }, () => Math.floor(Math.random() * 256)),
        'text/plain',
      ],
    ];
    for (const [name, body, type] of bodies) {
      const response = new Response(body.length === 0 ? null : body, {
        status: 201,
        headers: { 'content-type': type },
      });
      const base64 = body.length > 0 && type.startsWith('image/');
      expect(await lambdaResultBytes(response), name).toBe(serialized(201, response.headers, body, base64));
    }
  });

  it('counts a binary body as base64, as hono/aws-lambda sends it', async () => {
    const bytes = await lambdaResultBytes(
      new Response(new Uint8Array(3_000), { headers: { 'content-type': 'image/png' } }),
    );
    expect(bytes).toBeGreaterThan(4_000);
  });
});

describe('withAwsLimits', () => {
  it('passes an answer that fits through unchanged', async () => {
    const fetch = withAwsLimits(appAnswering(1_000).fetch);
    const res = await fetch(new Request('http://gateway.test/json'));
    expect(res.status).toBe(200);
    expect(((await res.json()) as { data: string }).data).toHaveLength(1_000);
  });

  it('turns an answer over 6 MB into the 500 the HTTP API sends for a failed Lambda', async () => {
    const seen: unknown[] = [];
    const fetch = withAwsLimits(appAnswering(LAMBDA_SYNC_RESPONSE_MAX_BYTES).fetch, {
      onLimit: (event) => seen.push(event),
    });
    const res = await fetch(new Request('http://gateway.test/json'));
    expect(res.status).toBe(500);
    expect(await res.json()).toStrictEqual({ message: 'Internal Server Error' });
    expect(seen).toStrictEqual([{ limit: 'response_too_large', path: '/json', bytes: expect.any(Number) }]);
  });

  it('leaves exempt paths (the local stand-in for S3 URLs) alone', async () => {
    const fetch = withAwsLimits(appAnswering(10).fetch, {
      maxResponseBytes: 1,
      exempt: (path) => path.startsWith('/images/'),
    });
    expect((await fetch(new Request('http://gateway.test/images/x'))).status).toBe(200);
    expect((await fetch(new Request('http://gateway.test/json'))).status).toBe(500);
  });
});

describe('the purchase deadline', () => {
  it('ends before the HTTP API cuts the request off, with room for settle', () => {
    expect(DEFAULT_PURCHASE_DEADLINE.requestMs).toBeLessThan(HTTP_API_TIMEOUT_MS);
    expect(DEFAULT_PURCHASE_DEADLINE.settleReserveMs).toBeLessThan(DEFAULT_PURCHASE_DEADLINE.requestMs);
  });
});
