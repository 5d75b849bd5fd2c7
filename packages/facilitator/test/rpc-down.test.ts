import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMemoryLogger } from '../src/logger.ts';
import { type RunningFacilitator, startFacilitator } from '../src/start-facilitator.ts';
import { buildV1Body, buildV2Body } from './builders.ts';
import { postJson } from './devnet-helpers.ts';

// A facilitator whose RPC refuses connections (port 1 on loopback: nothing listens there).
let facilitator: RunningFacilitator;

beforeAll(async () => {
  facilitator = await startFacilitator({
    rpcUrl: 'http://127.0.0.1:1',
    privateKey: `0x${'42'.repeat(32)}`,
    network: 'devnet',
    port: 0,
    logger: createMemoryLogger(),
  });
});

afterAll(async () => {
  await facilitator?.stop();
});

describe('when the chain RPC is unreachable', () => {
  it.each([
    ['v2', buildV2Body(), 'eip155:84532'],
    ['v1', buildV1Body(), 'base-sepolia'],
  ])(
    'answers verify and settle (%s) with an unexpected-error code, not a 500 or a wrong reason',
    async (_v, body, network) => {
      expect(await postJson(`${facilitator.url}/verify`, body)).toStrictEqual({
        status: 200,
        json: {
          isValid: false,
          invalidReason: 'unexpected_verify_error',
          invalidMessage: 'the chain RPC is unavailable',
          payer: body.paymentPayload.payload.authorization.from,
        },
      });
      expect(await postJson(`${facilitator.url}/settle`, body)).toStrictEqual({
        status: 200,
        json: {
          success: false,
          errorReason: 'unexpected_settle_error',
          errorMessage: 'the chain RPC is unavailable',
          transaction: '',
          network,
          payer: body.paymentPayload.payload.authorization.from,
        },
      });
      expect(facilitator.stats().transactionsSent).toBe(0);
    },
  );
});
