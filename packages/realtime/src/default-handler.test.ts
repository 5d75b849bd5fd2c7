import { describe, expect, it } from 'vitest';
import { buildMessageEvent } from '../test/events.ts';
import { agentReply, TINY_PNG_BASE64 } from '../test/fake-agent.ts';
import { createMemoryConnectionStore } from './adapters/memory-connection-store.ts';
import { createDefaultHandler, type DefaultHandlerDeps } from './default-handler.ts';
import { silentLogger } from './logger.ts';
import { AgentOutput, MAX_PROMPT_CHARS, type ServerMessage } from './messages.ts';
import type { AgentInvoker, InvokeAgentParameters, PutImageParameters } from './ports.ts';
import { RealtimeError } from './realtime-error.ts';

const CONNECTION_ID = 'Vv0bJdQxoAMCKzQ=';
const NOW = 1_795_584_000_000;

function frame(prompt: string, sessionId = 'test-session') {
  return JSON.stringify({ input: { prompt }, session_id: sessionId });
}

async function buildDeps(overrides: { agent?: AgentInvoker; goneAfter?: number; registered?: boolean } = {}) {
  const clock = { now: () => NOW };
  const connections = createMemoryConnectionStore(clock);
  if (overrides.registered !== false) {
    await connections.put({
      connectionId: CONNECTION_ID,
      connectedAt: NOW,
      ttl: NOW / 1000 + 60,
      domainName: 'abc123.execute-api.us-east-1.amazonaws.com',
      stage: 'prod',
    });
  }
  const sent: ServerMessage[] = [];
  const uploads: PutImageParameters[] = [];
  const invocations: Omit<InvokeAgentParameters, 'signal'>[] = [];
  const agent: AgentInvoker = overrides.agent ?? {
    async invoke({ prompt, sessionId }) {
      invocations.push({ prompt, sessionId });
      return AgentOutput.parse(agentReply().output);
    },
  };
  const deps: DefaultHandlerDeps = {
    connections,
    agent: {
      invoke: (params) => {
        if (overrides.agent) invocations.push({ prompt: params.prompt, sessionId: params.sessionId });
        return agent.invoke(params);
      },
    },
    images: {
      async put(params) {
        uploads.push(params);
        return { url: `https://images.example/${params.key}?X-Amz-Signature=abc` };
      },
    },
    messenger: {
      async send(target, message) {
        expect(target).toStrictEqual({
          connectionId: CONNECTION_ID,
          domainName: 'abc123.execute-api.us-east-1.amazonaws.com',
          stage: 'prod',
        });
        if (overrides.goneAfter !== undefined && sent.length >= overrides.goneAfter) return false;
        sent.push(message);
        return true;
      },
    },
    clock,
    logger: silentLogger,
    settings: { maxFrameBytes: 32 * 1024, progressIntervalMs: 10, agentTimeoutMs: 5_000 },
  };
  return { deps, sent, uploads, invocations };
}

describe('createDefaultHandler', () => {
  describe('when the frame is a valid prompt', () => {
    it('sends processing, invokes the agent once, offloads the image and sends complete', async () => {
      const { deps, sent, uploads, invocations } = await buildDeps();
      const result = await createDefaultHandler(deps)(
        buildMessageEvent(frame('a futuristic city at sunset')),
      );

      expect(result).toStrictEqual({ statusCode: 200, body: 'ok' });
      expect(invocations).toStrictEqual([
        { prompt: 'a futuristic city at sunset', sessionId: 'test-session' },
      ]);
      expect(uploads).toHaveLength(1);
      expect(uploads[0]?.key).toBe('sessions/test-session/img-1.png');
      expect(uploads[0]?.contentType).toBe('image/png');
      expect(Buffer.from(uploads[0]?.body ?? []).toString('base64')).toBe(TINY_PNG_BASE64);
      const expected = agentReply().output;
      expect(sent).toStrictEqual([
        { type: 'processing', sessionId: 'test-session' },
        {
          type: 'complete',
          sessionId: 'test-session',
          response: {
            output: {
              ...expected,
              images: {
                'img-1': 'https://images.example/sessions/test-session/img-1.png?X-Amz-Signature=abc',
              },
            },
          },
        },
      ]);
    });

    it('sends progress while the agent works, and none after complete', async () => {
      const slowAgent: AgentInvoker = {
        async invoke() {
          await new Promise((r) => setTimeout(r, 80));
          return AgentOutput.parse(agentReply({ images: {} }).output);
        },
      };
      const { deps, sent } = await buildDeps({ agent: slowAgent });
      await createDefaultHandler(deps)(buildMessageEvent(frame('hello')));
      await new Promise((r) => setTimeout(r, 40));

      const types = sent.map((m) => m.type);
      expect(types[0]).toBe('processing');
      expect(types.filter((t) => t === 'progress').length).toBeGreaterThanOrEqual(2);
      expect(types.at(-1)).toBe('complete');
      expect(types.indexOf('complete')).toBe(types.length - 1);
    });

    it('passes http(s) image URLs through and drops anything that is not an image', async () => {
      const agent: AgentInvoker = {
        async invoke() {
          return AgentOutput.parse(
            agentReply({
              images: {
                a: 'https://cdn.example/a.png',
                b: 'javascript:alert(1)',
                c: 'data:text/html;base64,PGgxPg==',
              },
            }).output,
          );
        },
      };
      const { deps, sent, uploads } = await buildDeps({ agent });
      await createDefaultHandler(deps)(buildMessageEvent(frame('hello')));
      const complete = sent.find((m) => m.type === 'complete');
      expect(uploads).toStrictEqual([]);
      expect(complete?.type === 'complete' && complete.response.output.images).toStrictEqual({
        a: 'https://cdn.example/a.png',
      });
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
      ['an oversized prompt', frame('x'.repeat(MAX_PROMPT_CHARS + 1)), false, 'prompt_too_long'],
      ['larger than a frame', frame('x'.repeat(40 * 1024)), false, 'frame_too_large'],
      ['binary', Buffer.from(frame('hi')).toString('base64'), true, 'binary_not_supported'],
    ];
    for (const [name, body, binary, code] of cases) {
      it(`answers ${code} for ${name}, without invoking the agent`, async () => {
        const { deps, sent, invocations } = await buildDeps();
        const result = await createDefaultHandler(deps)(buildMessageEvent(body, { isBase64Encoded: binary }));
        expect(result).toStrictEqual({ statusCode: 400, body: code });
        expect(invocations).toStrictEqual([]);
        expect(sent).toHaveLength(1);
        expect(sent[0]).toMatchObject({ type: 'error', code });
      });
    }

    it('accepts a prompt of exactly the maximum length', async () => {
      const { deps, invocations } = await buildDeps();
      await createDefaultHandler(deps)(buildMessageEvent(frame('y'.repeat(MAX_PROMPT_CHARS))));
      expect(invocations).toHaveLength(1);
    });

    it('refuses a connection that $connect never registered (or whose TTL passed)', async () => {
      const { deps, sent, invocations } = await buildDeps({ registered: false });
      const result = await createDefaultHandler(deps)(buildMessageEvent(frame('hi')));
      expect(result.statusCode).toBe(400);
      expect(invocations).toStrictEqual([]);
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

  describe('when the agent fails', () => {
    it('forwards a RealtimeError code and message', async () => {
      const agent: AgentInvoker = {
        async invoke() {
          throw new RealtimeError(
            'agent_unavailable',
            'The agent is not reachable right now; try again shortly.',
          );
        },
      };
      const { deps, sent } = await buildDeps({ agent });
      const result = await createDefaultHandler(deps)(buildMessageEvent(frame('hi')));
      expect(result).toStrictEqual({ statusCode: 500, body: 'agent_unavailable' });
      expect(sent.at(-1)).toStrictEqual({
        type: 'error',
        code: 'agent_unavailable',
        message: 'The agent is not reachable right now; try again shortly.',
        sessionId: 'test-session',
      });
    });

    it('hides unknown errors behind internal_error with no stack trace', async () => {
      const agent: AgentInvoker = {
        async invoke() {
          throw new TypeError('secret internals at /var/task/index.js:12');
        },
      };
      const { deps, sent } = await buildDeps({ agent });
      await createDefaultHandler(deps)(buildMessageEvent(frame('hi')));
      const last = sent.at(-1);
      expect(last).toStrictEqual({
        type: 'error',
        code: 'internal_error',
        message: 'Something went wrong on our side; please try again.',
        sessionId: 'test-session',
      });
      expect(JSON.stringify(sent)).not.toContain('/var/task');
    });
  });

  describe('when sending one progress frame fails', () => {
    it('still delivers complete', async () => {
      const slowAgent: AgentInvoker = {
        async invoke() {
          await new Promise((r) => setTimeout(r, 60));
          return AgentOutput.parse(agentReply({ images: {} }).output);
        },
      };
      const { deps, sent } = await buildDeps({ agent: slowAgent });
      let failed = false;
      const send = deps.messenger.send;
      deps.messenger = {
        async send(target, message) {
          if (message.type === 'progress' && !failed) {
            failed = true;
            throw new Error('socket hang up');
          }
          return send(target, message);
        },
      };
      const result = await createDefaultHandler(deps)(buildMessageEvent(frame('hello')));
      expect(failed).toBe(true);
      expect(result.statusCode).toBe(200);
      expect(sent.at(-1)?.type).toBe('complete');
    });
  });

  describe('when the client disconnects in the middle of a turn', () => {
    it('finishes the turn once, stops sending, and never invokes the agent again', async () => {
      const { deps, sent, invocations, uploads } = await buildDeps({ goneAfter: 1 });
      const result = await createDefaultHandler(deps)(buildMessageEvent(frame('generate an image')));
      expect(result.statusCode).toBe(200);
      expect(invocations).toHaveLength(1);
      expect(uploads).toHaveLength(1);
      expect(sent).toStrictEqual([{ type: 'processing', sessionId: 'test-session' }]);
    });
  });
});
