import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLambdaTurnDispatcher } from '../adapters/lambda-turn-dispatcher.ts';
import type { TurnEvent } from '../turn-event.ts';
import { LOCAL_CREDENTIALS, type LocalEngine } from './local-engines.ts';
import { MAX_ASYNC_EVENT_BYTES, startLocalLambda } from './local-lambda.ts';

const received: unknown[] = [];
/** While held, the function waits: the 202 must not wait for it. */
let gate: Promise<void> = Promise.resolve();
let release: () => void = () => {};
const hold = () => {
  gate = new Promise<void>((ok) => {
    release = ok;
  });
};
let engine: LocalEngine;
let client: LambdaClient;
const runs: Promise<unknown>[] = [];

const EVENT: TurnEvent = {
  kind: 'agent_turn',
  turnId: '6f1c2a8e-4b7d-4c1e-9a55-0d3b8f2e7c10',
  sessionId: 'test-session',
  prompt: 'hello',
  connection: { connectionId: 'Vv0bJdQxoAMCKzQ=', domainName: '127.0.0.1:3001', stage: 'local' },
  acceptedAt: 1_795_584_000_000,
};

beforeAll(async () => {
  engine = await startLocalLambda({
    functions: {
      'turn-worker': async (event) => {
        await gate;
        received.push(event);
      },
    },
    track: (run) => runs.push(run),
  });
  client = new LambdaClient({
    endpoint: engine.endpoint,
    region: 'us-east-1',
    credentials: LOCAL_CREDENTIALS,
  });
});

afterAll(async () => {
  release();
  client?.destroy();
  await engine?.stop();
});

describe('startLocalLambda (asynchronous Invoke stand-in)', () => {
  it('answers 202 before the function runs, then runs it once with the event', async () => {
    hold();
    const answer = await client.send(
      new InvokeCommand({
        FunctionName: 'turn-worker',
        InvocationType: 'Event',
        Payload: new TextEncoder().encode(JSON.stringify(EVENT)),
      }),
    );
    expect(answer.StatusCode).toBe(202);
    expect(received).toStrictEqual([]);
    await new Promise((r) => setTimeout(r, 20));
    release();
    await Promise.all(runs);
    expect(received).toStrictEqual([EVENT]);
  });

  it('refuses an event over 256 KiB with AWS error and message, and runs nothing', async () => {
    const before = runs.length;
    const payload = new TextEncoder().encode(JSON.stringify({ pad: 'x'.repeat(MAX_ASYNC_EVENT_BYTES) }));
    await expect(
      client.send(
        new InvokeCommand({ FunctionName: 'turn-worker', InvocationType: 'Event', Payload: payload }),
      ),
    ).rejects.toMatchObject({
      name: 'RequestEntityTooLargeException',
      message: `${payload.byteLength} byte payload is too large for the Event invocation type (limit 262144 bytes)`,
      $metadata: { httpStatusCode: 413 },
    });
    expect(runs.length).toBe(before);
  });

  it('accepts an event of exactly 256 KiB', async () => {
    received.length = 0;
    const filler = 'x'.repeat(MAX_ASYNC_EVENT_BYTES - JSON.stringify({ pad: '' }).length);
    const payload = new TextEncoder().encode(JSON.stringify({ pad: filler }));
    expect(payload.byteLength).toBe(MAX_ASYNC_EVENT_BYTES);
    const answer = await client.send(
      new InvokeCommand({ FunctionName: 'turn-worker', InvocationType: 'Event', Payload: payload }),
    );
    expect(answer.StatusCode).toBe(202);
    await Promise.all(runs);
    expect(received).toHaveLength(1);
  });

  it('refuses unknown functions, payloads that are not JSON and synchronous invocations', async () => {
    await expect(
      client.send(
        new InvokeCommand({
          FunctionName: 'nope',
          InvocationType: 'Event',
          Payload: new Uint8Array([123, 125]),
        }),
      ),
    ).rejects.toMatchObject({ name: 'ResourceNotFoundException', $metadata: { httpStatusCode: 404 } });
    await expect(
      client.send(
        new InvokeCommand({
          FunctionName: 'turn-worker',
          InvocationType: 'Event',
          Payload: new TextEncoder().encode('{'),
        }),
      ),
    ).rejects.toMatchObject({ name: 'InvalidRequestContentException', $metadata: { httpStatusCode: 400 } });
    await expect(
      client.send(new InvokeCommand({ FunctionName: 'turn-worker', InvocationType: 'RequestResponse' })),
    ).rejects.toMatchObject({ name: 'InvalidParameterValueException' });
  });

  it('finds a function by ARN as Lambda does', async () => {
    const answer = await client.send(
      new InvokeCommand({
        FunctionName: 'arn:aws:lambda:us-east-1:123456789012:function:turn-worker',
        InvocationType: 'Event',
        Payload: new TextEncoder().encode('{}'),
      }),
    );
    expect(answer.StatusCode).toBe(202);
  });
});

describe('createLambdaTurnDispatcher', () => {
  it('invokes the worker asynchronously with the turn event', async () => {
    received.length = 0;
    const ran = runs.length;
    await createLambdaTurnDispatcher({ client, functionName: 'turn-worker' }).dispatch(EVENT);
    await Promise.all(runs.slice(ran));
    expect(received).toStrictEqual([EVENT]);
  });

  it('turns an unknown function into agent_unavailable', async () => {
    await expect(
      createLambdaTurnDispatcher({ client, functionName: 'missing' }).dispatch(EVENT),
    ).rejects.toMatchObject({ name: 'RealtimeError', code: 'agent_unavailable' });
  });

  it('turns a refused oversized event into internal_error', async () => {
    await expect(
      createLambdaTurnDispatcher({ client, functionName: 'turn-worker' }).dispatch({
        ...EVENT,
        prompt: 'x'.repeat(MAX_ASYNC_EVENT_BYTES),
      }),
    ).rejects.toMatchObject({ name: 'RealtimeError', code: 'internal_error' });
  });
});
