import { describe, expect, it } from 'vitest';
import { agentReply, TINY_PNG_BASE64 } from '../test/fake-agent.ts';
import { createMemoryTurnRegistry } from './adapters/memory-turn-registry.ts';
import { silentLogger } from './logger.ts';
import { AgentOutput, encodeServerMessage, MAX_MESSAGE_BYTES, type ServerMessage } from './messages.ts';
import type { AgentInvoker, PutImageParameters } from './ports.ts';
import { RealtimeError } from './realtime-error.ts';
import type { TurnEvent } from './turn-event.ts';
import { createTurnWorker, type TurnWorkerDeps } from './turn-worker.ts';

const NOW = 1_795_584_000_000;
const TARGET = {
  connectionId: 'Vv0bJdQxoAMCKzQ=',
  domainName: 'abc123.execute-api.us-east-1.amazonaws.com',
  stage: 'prod',
};

function turnEvent(overrides: Partial<TurnEvent> = {}): TurnEvent {
  return {
    kind: 'agent_turn',
    turnId: '6f1c2a8e-4b7d-4c1e-9a55-0d3b8f2e7c10',
    sessionId: 'test-session',
    prompt: 'a futuristic city at sunset',
    connection: TARGET,
    acceptedAt: NOW - 1_000,
    ...overrides,
  };
}

async function buildWorker(overrides: { agent?: AgentInvoker; goneAfter?: number; begin?: boolean } = {}) {
  const clock = { now: () => NOW };
  const turns = createMemoryTurnRegistry({ leaseSeconds: 660 });
  if (overrides.begin !== false) {
    await turns.begin({
      sessionId: 'test-session',
      turnId: turnEvent().turnId,
      connectionId: TARGET.connectionId,
      nowMs: NOW - 1_000,
    });
  }
  const sent: ServerMessage[] = [];
  const uploads: PutImageParameters[] = [];
  const invocations: string[] = [];
  /** Whether the session's record still existed when each frame went out. */
  const heldAtSend: boolean[] = [];
  const agent = overrides.agent ?? {
    async invoke() {
      return AgentOutput.parse(agentReply().output);
    },
  };
  const deps: TurnWorkerDeps = {
    turns,
    agent: {
      invoke: (params) => {
        invocations.push(params.prompt);
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
        expect(target).toStrictEqual(TARGET);
        encodeServerMessage(message); // the size guard of the real messenger
        if (overrides.goneAfter !== undefined && sent.length >= overrides.goneAfter) return false;
        heldAtSend.push(turns.records.has('test-session'));
        sent.push(message);
        return true;
      },
    },
    clock,
    logger: silentLogger,
    settings: { progressIntervalMs: 10, agentTimeoutMs: 5_000 },
  };
  return { worker: createTurnWorker(deps), deps, turns, sent, uploads, invocations, heldAtSend };
}

describe('createTurnWorker', () => {
  describe('for a queued turn', () => {
    it('invokes the agent once, offloads the image, frees the session and sends complete', async () => {
      const { worker, turns, sent, uploads, invocations, heldAtSend } = await buildWorker();
      expect(await worker(turnEvent())).toStrictEqual({ outcome: 'completed' });

      expect(invocations).toStrictEqual(['a futuristic city at sunset']);
      expect(
        uploads.map((u) => [u.key, u.contentType, Buffer.from(u.body).toString('base64')]),
      ).toStrictEqual([['sessions/test-session/img-1.png', 'image/png', TINY_PNG_BASE64]]);
      expect(sent).toStrictEqual([
        {
          type: 'complete',
          sessionId: 'test-session',
          response: {
            output: {
              ...agentReply().output,
              images: {
                'img-1': 'https://images.example/sessions/test-session/img-1.png?X-Amz-Signature=abc',
              },
            },
          },
        },
      ]);
      // Released before `complete` went out: a client answering at once is not refused as busy.
      expect(heldAtSend).toStrictEqual([false]);
      expect(turns.records.size).toBe(0);
    });

    it('sends progress counted from acceptance while the agent works, and none after complete', async () => {
      const { worker, sent } = await buildWorker({
        agent: {
          async invoke() {
            await new Promise((r) => setTimeout(r, 80));
            return AgentOutput.parse(agentReply({ images: {} }).output);
          },
        },
      });
      await worker(turnEvent());
      await new Promise((r) => setTimeout(r, 40));
      const types = sent.map((m) => m.type);
      expect(types.filter((t) => t === 'progress').length).toBeGreaterThanOrEqual(2);
      expect(sent.find((m) => m.type === 'progress')).toStrictEqual({
        type: 'progress',
        sessionId: 'test-session',
        elapsedMs: 1_000,
      });
      expect(types.indexOf('complete')).toBe(types.length - 1);
    });
  });

  describe('for a duplicate delivery of the same event (at-least-once queue)', () => {
    it('runs the turn once, whether the copies arrive together or one after the other', async () => {
      const { worker, invocations, sent } = await buildWorker({
        agent: {
          async invoke() {
            await new Promise((r) => setTimeout(r, 30));
            return AgentOutput.parse(agentReply({ images: {} }).output);
          },
        },
      });
      const together = await Promise.all([worker(turnEvent()), worker(turnEvent())]);
      const later = await worker(turnEvent());
      expect(together.map((r) => r.outcome).sort()).toStrictEqual(['completed', 'skipped']);
      expect(later).toStrictEqual({ outcome: 'skipped' });
      expect(invocations).toHaveLength(1);
      expect(sent.filter((m) => m.type === 'complete')).toHaveLength(1);
    });
  });

  describe('for a turn that is not queued (released by $default, or another turn holds the session)', () => {
    it('runs nothing and sends nothing', async () => {
      const { worker, invocations, sent } = await buildWorker({ begin: false });
      expect(await worker(turnEvent())).toStrictEqual({ outcome: 'skipped' });
      const other = await buildWorker();
      expect(await other.worker(turnEvent({ turnId: '11111111-2222-4333-8444-555555555555' }))).toStrictEqual(
        {
          outcome: 'skipped',
        },
      );
      expect([...invocations, ...other.invocations]).toStrictEqual([]);
      expect([...sent, ...other.sent]).toStrictEqual([]);
    });
  });

  describe('for an event that is not a turn', () => {
    it('answers invalid_event and runs nothing', async () => {
      const { worker, invocations } = await buildWorker();
      for (const event of [
        {},
        null,
        { ...turnEvent(), prompt: 'x'.repeat(1025) },
        { ...turnEvent(), turnId: 'x' },
      ]) {
        expect(await worker(event)).toStrictEqual({ outcome: 'invalid_event' });
      }
      expect(invocations).toStrictEqual([]);
    });
  });

  describe('when the agent fails', () => {
    it('forwards the RealtimeError code and frees the session', async () => {
      const { worker, sent, turns } = await buildWorker({
        agent: {
          async invoke() {
            throw new RealtimeError(
              'agent_unavailable',
              'The agent is not reachable right now; try again shortly.',
            );
          },
        },
      });
      expect(await worker(turnEvent())).toStrictEqual({ outcome: 'failed' });
      expect(sent).toStrictEqual([
        {
          type: 'error',
          code: 'agent_unavailable',
          message: 'The agent is not reachable right now; try again shortly.',
          sessionId: 'test-session',
        },
      ]);
      expect(turns.records.size).toBe(0);
    });

    it('hides unknown errors behind internal_error with no stack trace', async () => {
      const { worker, sent } = await buildWorker({
        agent: {
          async invoke() {
            throw new TypeError('secret internals at /var/task/index.js:12');
          },
        },
      });
      await worker(turnEvent());
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

  describe('when the answer would not fit in one WebSocket message (128 KiB)', () => {
    it('never sends it and sends response_too_large instead', async () => {
      const text = 'y'.repeat(MAX_MESSAGE_BYTES);
      const { worker, sent } = await buildWorker({
        agent: {
          async invoke() {
            return AgentOutput.parse(
              agentReply({ message: { role: 'assistant', content: [{ text }] } }).output,
            );
          },
        },
      });
      expect(await worker(turnEvent())).toStrictEqual({ outcome: 'failed' });
      expect(sent).toStrictEqual([
        {
          type: 'error',
          code: 'response_too_large',
          message: expect.stringContaining('ask for your wallet details'),
          sessionId: 'test-session',
        },
      ]);
    });
  });

  describe('when the client disconnects in the middle of a turn', () => {
    it('finishes the turn once and stops sending', async () => {
      const { worker, sent, invocations, uploads, turns } = await buildWorker({
        goneAfter: 0,
        agent: {
          async invoke() {
            await new Promise((r) => setTimeout(r, 40));
            return AgentOutput.parse(agentReply().output);
          },
        },
      });
      expect(await worker(turnEvent())).toStrictEqual({ outcome: 'completed' });
      expect(invocations).toHaveLength(1);
      expect(uploads).toHaveLength(1);
      expect(sent).toStrictEqual([]);
      expect(turns.records.size).toBe(0);
    });
  });

  describe('when the turn table cannot be read', () => {
    it('runs nothing and tells the client nothing was paid', async () => {
      const { worker, deps, sent, invocations } = await buildWorker();
      deps.turns.start = () => Promise.reject(new Error('ServiceUnavailable'));
      expect(await worker(turnEvent())).toStrictEqual({ outcome: 'failed' });
      expect(invocations).toStrictEqual([]);
      expect(sent).toStrictEqual([
        {
          type: 'error',
          code: 'internal_error',
          message: expect.stringContaining('nothing was paid'),
          sessionId: 'test-session',
        },
      ]);
    });
  });
});
