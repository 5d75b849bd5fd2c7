import { describe, expect, it } from 'vitest';
import { buildMessageEvent } from '../test/events.ts';
import { createMemoryConnectionStore } from './adapters/memory-connection-store.ts';
import { createMemoryTurnRegistry } from './adapters/memory-turn-registry.ts';
import { createDefaultHandler, type DefaultHandlerDeps } from './default-handler.ts';
import { silentLogger } from './logger.ts';
import { MAX_PROMPT_CHARS, type ServerMessage } from './messages.ts';
import type { TurnDispatcher } from './ports.ts';
import { RealtimeError } from './realtime-error.ts';
import type { TurnEvent } from './turn-event.ts';

const CONNECTION_ID = 'Vv0bJdQxoAMCKzQ=';
const NOW = 1_795_584_000_000;
const TARGET = {
  connectionId: CONNECTION_ID,
  domainName: 'abc123.execute-api.us-east-1.amazonaws.com',
  stage: 'prod',
};

function frame(prompt: string, sessionId = 'test-session') {
  return JSON.stringify({ input: { prompt }, session_id: sessionId });
}

async function buildDeps(
  overrides: { dispatcher?: TurnDispatcher; gone?: boolean; registered?: boolean; now?: () => number } = {},
) {
  const clock = { now: overrides.now ?? (() => NOW) };
  const connections = createMemoryConnectionStore(clock);
  if (overrides.registered !== false) {
    await connections.put({ ...TARGET, connectedAt: NOW, ttl: NOW / 1000 + 3600 });
  }
  const turns = createMemoryTurnRegistry({ leaseSeconds: 660 });
  const sent: ServerMessage[] = [];
  const dispatched: TurnEvent[] = [];
  let ids = 0;
  const deps: DefaultHandlerDeps = {
    connections,
    turns,
    dispatcher: overrides.dispatcher ?? {
      async dispatch(event) {
        dispatched.push(event);
      },
    },
    messenger: {
      async send(target, message) {
        expect(target).toStrictEqual(TARGET);
        if (overrides.gone) return false;
        sent.push(message);
        return true;
      },
    },
    clock,
    logger: silentLogger,
    newTurnId: () => `00000000-0000-4000-8000-00000000000${++ids}`,
    settings: { maxFrameBytes: 32 * 1024 },
  };
  return { deps, sent, dispatched, turns };
}

describe('createDefaultHandler', () => {
  describe('when the frame is a valid prompt', () => {
    it('records the turn, answers processing and hands the turn to the worker, without running it', async () => {
      const { deps, sent, dispatched, turns } = await buildDeps();
      const result = await createDefaultHandler(deps)(
        buildMessageEvent(frame('a futuristic city at sunset')),
      );

      expect(result).toStrictEqual({ statusCode: 200, body: 'accepted' });
      expect(sent).toStrictEqual([{ type: 'processing', sessionId: 'test-session' }]);
      expect(dispatched).toStrictEqual([
        {
          kind: 'agent_turn',
          turnId: '00000000-0000-4000-8000-000000000001',
          sessionId: 'test-session',
          prompt: 'a futuristic city at sunset',
          connection: TARGET,
          acceptedAt: NOW,
        },
      ]);
      expect(turns.records.get('test-session')).toStrictEqual({
        turnId: '00000000-0000-4000-8000-000000000001',
        state: 'queued',
        ttl: NOW / 1000 + 660,
      });
    });
  });

  describe('when a turn of the same session is still in flight', () => {
    it('answers turn_in_progress and starts nothing, however often the message is repeated', async () => {
      const { deps, sent, dispatched } = await buildDeps();
      const handler = createDefaultHandler(deps);
      await handler(buildMessageEvent(frame('generate an image of a lighthouse')));
      const again = await Promise.all(
        [1, 2, 3].map(() => handler(buildMessageEvent(frame('generate an image of a lighthouse')))),
      );

      expect(again).toStrictEqual(Array(3).fill({ statusCode: 400, body: 'turn_in_progress' }));
      expect(dispatched).toHaveLength(1);
      expect(sent.slice(1).map((m) => m.type === 'error' && m.code)).toStrictEqual(
        Array(3).fill('turn_in_progress'),
      );
      expect(sent[1]).toMatchObject({
        sessionId: 'test-session',
        message: expect.stringContaining('nothing was started'),
      });
    });

    it('still accepts a turn of another session', async () => {
      const { deps, dispatched } = await buildDeps();
      const handler = createDefaultHandler(deps);
      await handler(buildMessageEvent(frame('one', 'session-a')));
      expect(await handler(buildMessageEvent(frame('two', 'session-b')))).toStrictEqual({
        statusCode: 200,
        body: 'accepted',
      });
      expect(dispatched.map((e) => e.sessionId)).toStrictEqual(['session-a', 'session-b']);
    });

    it('accepts a new turn once the old record has outlived its lease (a worker that died)', async () => {
      let now = NOW;
      const { deps, dispatched } = await buildDeps({ now: () => now });
      const handler = createDefaultHandler(deps);
      await handler(buildMessageEvent(frame('one')));
      now += 659_000;
      expect((await handler(buildMessageEvent(frame('two')))).body).toBe('turn_in_progress');
      now += 1_000;
      expect((await handler(buildMessageEvent(frame('three')))).body).toBe('accepted');
      expect(dispatched.map((e) => e.prompt)).toStrictEqual(['one', 'three']);
    });
  });

  describe('when the worker cannot be started', () => {
    it('answers agent_unavailable and frees the session for a retry', async () => {
      let fail = true;
      const dispatched: TurnEvent[] = [];
      const { deps, sent, turns } = await buildDeps({
        dispatcher: {
          async dispatch(event) {
            if (fail) {
              throw new RealtimeError(
                'agent_unavailable',
                'The agent could not be started; try again shortly.',
              );
            }
            dispatched.push(event);
          },
        },
      });
      const handler = createDefaultHandler(deps);
      expect(await handler(buildMessageEvent(frame('hi')))).toStrictEqual({
        statusCode: 500,
        body: 'agent_unavailable',
      });
      expect(sent).toStrictEqual([
        { type: 'processing', sessionId: 'test-session' },
        {
          type: 'error',
          code: 'agent_unavailable',
          message: 'The agent could not be started; try again shortly.',
          sessionId: 'test-session',
        },
      ]);
      expect(turns.records.size).toBe(0);
      fail = false;
      expect((await handler(buildMessageEvent(frame('hi')))).body).toBe('accepted');
      expect(dispatched).toHaveLength(1);
    });
  });

  describe('when the client is gone before the turn starts', () => {
    it('starts nothing and frees the session', async () => {
      const { deps, dispatched, turns } = await buildDeps({ gone: true });
      expect(await createDefaultHandler(deps)(buildMessageEvent(frame('hi')))).toStrictEqual({
        statusCode: 200,
        body: 'client_gone',
      });
      expect(dispatched).toStrictEqual([]);
      expect(turns.records.size).toBe(0);
    });
  });

  describe('when the frame is bad', () => {
    const cases: [string, string | undefined, boolean, string][] = [
      ['not JSON', '{"input":', false, 'invalid_json'],
      ['empty', undefined, false, 'invalid_json'],
      ['missing session_id', JSON.stringify({ input: { prompt: 'hi' } }), false, 'invalid_message'],
      ['blank prompt', frame('   '), false, 'invalid_message'],
      [
        'a prompt that is not a string',
        JSON.stringify({ input: { prompt: 42 }, session_id: 's' }),
        false,
        'invalid_message',
      ],
      [
        'unknown fields',
        JSON.stringify({ input: { prompt: 'hi' }, session_id: 's', price: '0' }),
        false,
        'invalid_message',
      ],
      ['a session id with a slash', frame('hi', '../other-session'), false, 'invalid_message'],
      ['a session id with a #', frame('hi', 'turn#x'), false, 'invalid_message'],
      ['an oversized prompt', frame('x'.repeat(MAX_PROMPT_CHARS + 1)), false, 'prompt_too_long'],
      ['larger than a frame', frame('x'.repeat(40 * 1024)), false, 'frame_too_large'],
      ['binary', Buffer.from(frame('hi')).toString('base64'), true, 'binary_not_supported'],
    ];
    for (const [name, body, binary, code] of cases) {
      it(`answers ${code} for ${name}, without starting a turn`, async () => {
        const { deps, sent, dispatched, turns } = await buildDeps();
        const result = await createDefaultHandler(deps)(buildMessageEvent(body, { isBase64Encoded: binary }));
        expect(result).toStrictEqual({ statusCode: 400, body: code });
        expect(dispatched).toStrictEqual([]);
        expect(turns.records.size).toBe(0);
        expect(sent).toHaveLength(1);
        expect(sent[0]).toMatchObject({ type: 'error', code });
      });
    }

    it('accepts a prompt of exactly the maximum length', async () => {
      const { deps, dispatched } = await buildDeps();
      await createDefaultHandler(deps)(buildMessageEvent(frame('y'.repeat(MAX_PROMPT_CHARS))));
      expect(dispatched).toHaveLength(1);
    });

    it('refuses a connection that $connect never registered (or whose TTL passed)', async () => {
      const { deps, sent, dispatched } = await buildDeps({ registered: false });
      const result = await createDefaultHandler(deps)(buildMessageEvent(frame('hi')));
      expect(result.statusCode).toBe(400);
      expect(dispatched).toStrictEqual([]);
      expect(sent).toStrictEqual([
        {
          type: 'error',
          code: 'connection_not_registered',
          message: 'This connection is not registered; reconnect.',
          sessionId: 'test-session',
        },
      ]);
    });

    it('answers 400 without sending anything for an event that is not a MESSAGE', async () => {
      const { deps, sent } = await buildDeps();
      const event = buildMessageEvent(frame('hi'), { context: { eventType: 'CONNECT' } });
      expect(await createDefaultHandler(deps)(event)).toStrictEqual({
        statusCode: 400,
        body: 'invalid_event',
      });
      expect(sent).toStrictEqual([]);
    });
  });

  describe('when the turn table fails', () => {
    it('hides the error behind internal_error with no stack trace and starts nothing', async () => {
      const { deps, sent, dispatched } = await buildDeps();
      deps.turns = {
        begin: () =>
          Promise.reject(new Error('ProvisionedThroughputExceededException at /var/task/index.js:12')),
        start: async () => false,
        finish: async () => {},
      };
      expect(await createDefaultHandler(deps)(buildMessageEvent(frame('hi')))).toStrictEqual({
        statusCode: 500,
        body: 'internal_error',
      });
      expect(dispatched).toStrictEqual([]);
      expect(sent).toStrictEqual([
        {
          type: 'error',
          code: 'internal_error',
          message: 'Something went wrong on our side; please try again.',
          sessionId: 'test-session',
        },
      ]);
    });
  });
});
