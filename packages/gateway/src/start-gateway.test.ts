import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ImageGenerator } from '@agentic-payments/imaging';
import { GenerateImageResponse, NODE_MAX_HEADER_BYTES } from '@agentic-payments/x402';
import { afterEach, describe, expect, it } from 'vitest';
import { buildPayment, createFakeFacilitator, SELLER } from '../test/builders.ts';
import { LAMBDA_SYNC_RESPONSE_MAX_BYTES } from './aws-limits.ts';
import { createMemoryLogger } from './logger.ts';
import { createMemoryPaymentStore } from './memory-payment-store.ts';
import { type StartGatewayOptions, startGateway } from './start-gateway.ts';

const PNG_SIGNATURE = Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/**
 * Stand-in for Nova Canvas in size only: a PNG signature followed by `bytes` of incompressible
 * data (a 2048x2048 Nova Canvas PNG is 4-6 MB), after `delayMs`.
 */
function sizedGenerator(bytes: number, delayMs = 0): ImageGenerator {
  return {
    name: 'test-sized',
    async generate(req) {
      if (delayMs > 0) await new Promise((resolve) => setTimeout(resolve, delayMs));
      const png = new Uint8Array(bytes);
      png.set(PNG_SIGNATURE);
      png.set(randomBytes(bytes - PNG_SIGNATURE.length), PNG_SIGNATURE.length);
      return {
        png,
        mimeType: 'image/png',
        width: req.width,
        height: req.height,
        seed: 1,
        generator: 'test-sized',
        metadata: {},
      };
    },
  };
}

const stops: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const stop of stops.splice(0)) await stop();
});

async function start(overrides: Partial<StartGatewayOptions> = {}) {
  const dataDir = mkdtempSync(join(tmpdir(), 'gateway-http-'));
  const facilitator = createFakeFacilitator();
  const logger = createMemoryLogger();
  const gateway = await startGateway({
    port: 0,
    sellerAddress: SELLER,
    network: 'devnet',
    facilitatorUrl: 'http://127.0.0.1:9',
    dataDir,
    facilitator: facilitator.client,
    paymentStore: createMemoryPaymentStore(),
    imageGenerator: sizedGenerator(20_000),
    logger,
    ...overrides,
  });
  stops.push(async () => {
    await gateway.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });
  const post = (headers: Record<string, string> = {}) =>
    fetch(`${gateway.url}/generate_image`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify({
        request_id: `req-${crypto.randomUUID()}`,
        prompt: 'a lighthouse',
        size: '2048x2048',
      }),
    });
  return { gateway, facilitator, logger, post };
}

/** A raw HTTP/1.1 exchange (fetch refuses some of what these tests must send). */
function rawPost(url: string, headers: Record<string, string>): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(`${url}/generate_image`, { method: 'POST', headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
    });
    req.on('error', reject);
    req.end('{}');
  });
}

describe('startGateway over real HTTP', () => {
  describe('request headers', () => {
    it('answers a payment header over 16 KiB with 402 header_too_large and a JSON body (not Node’s empty 431)', async () => {
      const { gateway, facilitator, post } = await start();
      const res = await post({ 'PAYMENT-SIGNATURE': 'A'.repeat(20_000) });
      expect(res.status).toBe(402);
      const json = (await res.json()) as Record<string, unknown>;
      expect(json).toMatchObject({ x402Version: 1, error: 'header_too_large' });
      expect(res.headers.get('PAYMENT-REQUIRED')).toBeTruthy();
      expect(facilitator.calls.verify).toHaveLength(0);
      expect(gateway.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    });

    it('answers headers beyond Node’s raised limit with 431 headers_too_large as JSON', async () => {
      const { gateway, facilitator } = await start();
      const res = await rawPost(gateway.url, {
        'content-type': 'application/json',
        'x-filler': 'A'.repeat(NODE_MAX_HEADER_BYTES + 1_000),
      });
      expect(res.status).toBe(431);
      expect(JSON.parse(res.body)).toStrictEqual({ error: 'headers_too_large', message: expect.any(String) });
      expect(facilitator.calls.verify).toHaveLength(0);
    });
  });

  describe('image delivery within Lambda’s 6 MB response', () => {
    it('delivers a 5 MB image (Nova Canvas 2048x2048 size) by URL; the answer stays under 6 MB', async () => {
      const { post } = await start({ imageGenerator: sizedGenerator(5_000_000) });
      const res = await post({ 'PAYMENT-SIGNATURE': (await buildPayment({ value: 60_000n })).header });
      const text = await res.text();
      expect(res.status).toBe(200);
      expect(Buffer.byteLength(text)).toBeLessThan(LAMBDA_SYNC_RESPONSE_MAX_BYTES);
      const body = GenerateImageResponse.parse(JSON.parse(text));
      expect(body.image).toStrictEqual({ mime_type: 'image/png' });
      const image = await fetch(body.image_url);
      expect(image.status).toBe(200);
      expect(image.headers.get('content-type')).toBe('image/png');
      expect((await image.arrayBuffer()).byteLength).toBe(5_000_000);
    });

    it('keeps a small image inline as well (the local default)', async () => {
      const { post } = await start();
      const res = await post({ 'PAYMENT-SIGNATURE': (await buildPayment({ value: 60_000n })).header });
      expect(res.status).toBe(200);
      const body = GenerateImageResponse.parse(await res.json());
      expect(Buffer.from(body.image.base64 ?? '', 'base64').length).toBe(20_000);
    });

    it('sends the URL only with imageDelivery url (what the Lambda entry sets)', async () => {
      const { post } = await start({ imageDelivery: 'url' });
      const res = await post({ 'PAYMENT-SIGNATURE': (await buildPayment({ value: 60_000n })).header });
      expect(res.status).toBe(200);
      const body = GenerateImageResponse.parse(await res.json());
      expect(body.image.base64).toBeUndefined();
      expect((await (await fetch(body.image_url)).arrayBuffer()).byteLength).toBe(20_000);
    });
  });

  describe('the HTTP API’s 30 s integration timeout', () => {
    it('answers 503 Service Unavailable, as API Gateway does, when the app takes longer', async () => {
      const { post, logger, facilitator } = await start({
        imageGenerator: sizedGenerator(20_000, 600),
        awsLimits: { timeoutMs: 200 },
      });
      const started = performance.now();
      const res = await post({ 'PAYMENT-SIGNATURE': (await buildPayment({ value: 60_000n })).header });
      expect(res.status).toBe(503);
      expect(await res.json()).toStrictEqual({ message: 'Service Unavailable' });
      expect(performance.now() - started).toBeLessThan(550);
      expect(logger.lines.some((line) => line.includes('"integration_timeout"'))).toBe(true);
      // As behind API Gateway, the function runs on: the purchase completes (and settles) unseen.
      await expect.poll(() => facilitator.calls.settle.length, { timeout: 3_000 }).toBe(1);
    });
  });
});
