import { describe, expect, it } from 'vitest';
import { buildV1Body, buildV2Body } from '../test/builders.ts';
import { createFacilitatorApp } from './facilitator-app.ts';
import { createMemoryLogger } from './logger.ts';
import type { PaymentFacilitator } from './payment-facilitator.ts';
import type { FacilitatorRequest } from './request-schema.ts';

/** In-memory facilitator: records what reached it and answers a fixed rejection. */
function fakeFacilitator() {
  const seen: FacilitatorRequest[] = [];
  const facilitator: PaymentFacilitator = {
    verify: async (request) => {
      seen.push(request);
      return { isValid: false, invalidReason: 'invalid_exact_evm_signature', payer: '0xabc' };
    },
    settle: async (request) => {
      seen.push(request);
      return { success: true, transaction: `0x${'cd'.repeat(32)}`, network: 'eip155:84532', payer: '0xabc' };
    },
    supported: () => ({
      kinds: [{ x402Version: 2, scheme: 'exact', network: 'eip155:84532' }],
      extensions: [],
      signers: { 'eip155:*': ['0x1'] },
    }),
    describe: () => ({ network: 'eip155:84532', v1Network: 'base-sepolia', signers: ['0x1'] }),
  };
  return { facilitator, seen };
}

const post = (app: ReturnType<typeof createFacilitatorApp>, path: string, body: unknown) =>
  app.request(path, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });

describe('createFacilitatorApp', () => {
  describe('POST /verify', () => {
    it('passes a v2 body to the facilitator and answers its result with 200', async () => {
      const { facilitator, seen } = fakeFacilitator();
      const app = createFacilitatorApp({ facilitator, logger: createMemoryLogger() });
      const res = await post(app, '/verify', buildV2Body());
      expect(res.status).toBe(200);
      expect(await res.json()).toStrictEqual({
        isValid: false,
        invalidReason: 'invalid_exact_evm_signature',
        payer: '0xabc',
      });
      expect(seen.map((r) => r.version)).toStrictEqual([2]);
    });

    it('accepts a v1 body, with or without the top-level x402Version', async () => {
      const { facilitator, seen } = fakeFacilitator();
      const app = createFacilitatorApp({ facilitator, logger: createMemoryLogger() });
      const { x402Version: _, ...withoutVersion } = buildV1Body();
      expect((await post(app, '/verify', buildV1Body())).status).toBe(200);
      expect((await post(app, '/verify', withoutVersion)).status).toBe(200);
      expect(seen.map((r) => r.version)).toStrictEqual([1, 1]);
    });
  });

  describe('when the body is malformed', () => {
    const v2 = buildV2Body();
    const cases: Array<[string, unknown, string]> = [
      ['not JSON', '{"x402Version":', 'invalid_json'],
      ['an array', [], 'invalid_request'],
      ['missing paymentPayload', { paymentRequirements: v2.paymentRequirements }, 'invalid_request'],
      [
        'an unknown x402Version',
        { ...v2, paymentPayload: { ...v2.paymentPayload, x402Version: 3 } },
        'invalid_request',
      ],
      [
        'a top-level version that differs from the payload',
        { ...v2, x402Version: 1 },
        'x402_version_mismatch',
      ],
      ['a negative value', buildV2Body({ value: '-1' }), 'invalid_request'],
      ['a short nonce', buildV2Body({ nonce: '0x1234' }), 'invalid_request'],
      [
        'an unknown field in the signed payload',
        {
          ...v2,
          paymentPayload: {
            ...v2.paymentPayload,
            payload: {
              ...v2.paymentPayload.payload,
              authorization: { ...v2.paymentPayload.payload.authorization, memo: 'x' },
            },
          },
        },
        'invalid_request',
      ],
      [
        'a v2 payload with v1 requirements',
        { ...v2, paymentRequirements: buildV1Body().paymentRequirements },
        'invalid_request',
      ],
      [
        'a non-hex signature',
        {
          ...v2,
          paymentPayload: {
            ...v2.paymentPayload,
            payload: { ...v2.paymentPayload.payload, signature: 'zz' },
          },
        },
        'invalid_request',
      ],
    ];

    it.each(cases)(
      'answers /verify 400 for %s, and never reaches the facilitator',
      async (_name, body, code) => {
        const { facilitator, seen } = fakeFacilitator();
        const app = createFacilitatorApp({ facilitator, logger: createMemoryLogger() });
        const res = await post(app, '/verify', body);
        expect(res.status).toBe(400);
        const json = (await res.json()) as Record<string, unknown>;
        expect(json).toMatchObject({ error: code, isValid: false, invalidReason: code });
        expect(typeof json.message).toBe('string');
        expect(seen).toStrictEqual([]);
      },
    );

    it.each(cases)('answers /settle 400 for %s in the settle response shape', async (_name, body, code) => {
      const { facilitator, seen } = fakeFacilitator();
      const app = createFacilitatorApp({ facilitator, logger: createMemoryLogger() });
      const res = await post(app, '/settle', body);
      expect(res.status).toBe(400);
      expect(await res.json()).toMatchObject({
        error: code,
        success: false,
        errorReason: code,
        transaction: '',
      });
      expect(seen).toStrictEqual([]);
    });

    it('answers 413 payload_too_large for an oversized body', async () => {
      const { facilitator, seen } = fakeFacilitator();
      const app = createFacilitatorApp({ facilitator, logger: createMemoryLogger(), maxBodyBytes: 1024 });
      const res = await post(app, '/settle', { ...buildV2Body(), padding: 'x'.repeat(2048) });
      expect(res.status).toBe(413);
      expect(await res.json()).toMatchObject({ error: 'payload_too_large', success: false });
      expect(seen).toStrictEqual([]);
    });
  });

  describe('GET /supported and /health', () => {
    it('answers the facilitator kinds and a health summary', async () => {
      const { facilitator } = fakeFacilitator();
      const app = createFacilitatorApp({ facilitator, logger: createMemoryLogger() });
      expect(await (await app.request('/supported')).json()).toStrictEqual(facilitator.supported());
      expect(await (await app.request('/health')).json()).toStrictEqual({
        status: 'ok',
        network: 'eip155:84532',
        v1Network: 'base-sepolia',
        signers: ['0x1'],
      });
    });
  });

  it('answers 404 not_found for an unknown route', async () => {
    const { facilitator } = fakeFacilitator();
    const app = createFacilitatorApp({ facilitator, logger: createMemoryLogger() });
    const res = await app.request('/nope');
    expect(res.status).toBe(404);
    expect(await res.json()).toMatchObject({ error: 'not_found' });
  });

  it('logs one line per request with route, outcome, reason, tx and ms, and no signature', async () => {
    const { facilitator } = fakeFacilitator();
    const logger = createMemoryLogger();
    const app = createFacilitatorApp({ facilitator, logger });
    const body = buildV2Body();
    await post(app, '/settle', body);
    expect(logger.records).toHaveLength(1);
    expect(logger.records[0]).toMatchObject({
      event: 'request',
      service: 'facilitator',
      route: 'settle',
      status: 200,
      outcome: 'settled',
      tx: `0x${'cd'.repeat(32)}`,
      version: 2,
    });
    expect(typeof logger.records[0]?.ms).toBe('number');
    expect(JSON.stringify(logger.records)).not.toContain(body.paymentPayload.payload.signature.slice(2, 40));
  });
});
