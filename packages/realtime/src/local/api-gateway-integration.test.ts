import { describe, expect, it } from 'vitest';
import { buildMessageEvent } from '../../test/events.ts';
import type { WebsocketRouteHandler } from '../connect-handler.ts';
import { INTEGRATION_TIMEOUT_MS, runIntegration } from './api-gateway-integration.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('runIntegration (API Gateway WebSocket integration stand-in)', () => {
  it("uses API Gateway's 29 s integration timeout", () => {
    expect(INTEGRATION_TIMEOUT_MS).toBe(29_000);
  });

  it('sends the exact timeout frame to the client of a handler that blocks past the limit, and nothing after', async () => {
    // The old design: $default runs the whole agent turn before it returns.
    let finished = false;
    const blocking: WebsocketRouteHandler = async () => {
      await sleep(250);
      finished = true;
      return { statusCode: 200, body: 'ok' };
    };
    const frames: string[] = [];
    await runIntegration(blocking, buildMessageEvent('{}'), {
      timeoutMs: 100,
      sendToClient: (f) => frames.push(f),
    });
    expect(finished).toBe(true);
    expect(frames).toStrictEqual([
      '{"message": "Endpoint request timed out", "connectionId":"Vv0bJdQxoAMCKzQ=", "requestId":"Vv0bKEkCoAMFQpA="}',
    ]);
  });

  it('sends nothing for a handler that answers in time', async () => {
    const frames: string[] = [];
    await runIntegration(async () => ({ statusCode: 200 }), buildMessageEvent('{}'), {
      timeoutMs: 100,
      sendToClient: (f) => frames.push(f),
    });
    await sleep(150);
    expect(frames).toStrictEqual([]);
  });

  it('sends Internal server error for a handler that throws', async () => {
    const frames: string[] = [];
    const errors: unknown[] = [];
    await runIntegration(
      async () => {
        throw new Error('boom');
      },
      buildMessageEvent('{}'),
      { timeoutMs: 100, sendToClient: (f) => frames.push(f), onError: (e) => errors.push(e) },
    );
    expect(frames).toStrictEqual([
      '{"message": "Internal server error", "connectionId":"Vv0bJdQxoAMCKzQ=", "requestId":"Vv0bKEkCoAMFQpA="}',
    ]);
    expect(errors).toHaveLength(1);
  });
});
