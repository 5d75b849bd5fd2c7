import { describe } from './connect-handler.ts';
import { toClientError } from './default-handler.ts';
import type { AgentOutput, ServerMessage } from './messages.ts';
import { offloadImages } from './offload-images.ts';
import type { AgentInvoker, ClientMessenger, Clock, ImageStore, Logger, TurnRegistry } from './ports.ts';
import { TurnEvent } from './turn-event.ts';

export interface TurnWorkerDeps {
  turns: TurnRegistry;
  agent: AgentInvoker;
  images: ImageStore;
  messenger: ClientMessenger;
  clock: Clock;
  logger: Logger;
  settings: { progressIntervalMs: number; agentTimeoutMs: number };
}

export type TurnWorkerOutcome = 'completed' | 'failed' | 'skipped' | 'invalid_event';

/** The worker Lambda's handler: an asynchronous invoke, whose return value nobody reads. */
export type TurnWorkerHandler = (event: unknown) => Promise<{ outcome: TurnWorkerOutcome }>;

/**
 * The turn worker (an asynchronously invoked Lambda with a timeout of minutes): runs one accepted
 * turn. It first moves the session's turn record from queued to running with a conditional write,
 * so a duplicate delivery of the same event (Lambda's asynchronous queue is at-least-once) or a
 * stale one runs nothing. Then it invokes the agent exactly once, sends `progress` while it works,
 * moves images to the image store and sends `complete`, or an `error` frame. It never throws, so
 * Lambda has nothing to retry; the function is also configured with zero retries.
 *
 * @example export const handler = createTurnWorker(deps);
 */
export function createTurnWorker(deps: TurnWorkerDeps): TurnWorkerHandler {
  return async (raw) => {
    const parsed = TurnEvent.safeParse(raw);
    if (!parsed.success) {
      deps.logger.error('turn_event_invalid', { issues: parsed.error.issues.length });
      return { outcome: 'invalid_event' };
    }
    const turn = parsed.data;
    const { sessionId, turnId, connection: target } = turn;

    // Frames go out strictly in order (a late `progress` must never follow `complete`), and stop once
    // the client is gone; the turn itself still completes (a payment made is kept in the session).
    let clientGone = false;
    let queue: Promise<void> = Promise.resolve();
    const reply = (message: ServerMessage): Promise<void> => {
      const sent = queue.then(async () => {
        if (clientGone) return;
        if (!(await deps.messenger.send(target, message))) {
          clientGone = true;
          deps.logger.warn('client_gone', { connectionId: target.connectionId, dropped: message.type });
        }
      });
      // A failed send fails only its own caller; later frames still go out, in order.
      queue = sent.catch(() => {});
      return sent;
    };

    let started: boolean;
    try {
      started = await deps.turns.start({ sessionId, turnId, nowMs: deps.clock.now() });
    } catch (error) {
      // Without the record we cannot promise a single run: run nothing, tell the client, free the session.
      deps.logger.error('turn_start_failed', { sessionId, turnId, error: describe(error) });
      await reply({
        type: 'error',
        code: 'internal_error',
        message:
          'Something went wrong on our side before the agent started; nothing was paid. Please try again.',
        sessionId,
      }).catch(() => {});
      await deps.turns.finish({ sessionId, turnId }).catch(() => {});
      return { outcome: 'failed' };
    }
    if (!started) {
      deps.logger.warn('turn_skipped', { sessionId, turnId, reason: 'duplicate, stale or released turn' });
      return { outcome: 'skipped' };
    }

    // The session is released before the last frame goes out: a client that answers `complete` at
    // once must not find its own finished turn still holding the session.
    let last: ServerMessage;
    let outcome: TurnWorkerOutcome;
    try {
      const delivered = await runAgent(turn, reply, deps);
      last = { type: 'complete', sessionId, response: { output: delivered } };
      outcome = 'completed';
      deps.logger.info('turn_complete', {
        connectionId: target.connectionId,
        sessionId,
        turnId,
        ms: deps.clock.now() - turn.acceptedAt,
        images: Object.keys(delivered.images ?? {}).length,
        payments: delivered.payments?.length ?? 0,
      });
    } catch (error) {
      last = failureFrame(error, sessionId, target.connectionId, turnId, deps.logger);
      outcome = 'failed';
    }
    await deps.turns
      .finish({ sessionId, turnId })
      .catch((error: unknown) =>
        deps.logger.error('turn_release_failed', { sessionId, turnId, error: describe(error) }),
      );
    try {
      await reply(last);
    } catch (error) {
      // Typically `response_too_large`: the answer cannot travel as one WebSocket message.
      const frame = failureFrame(error, sessionId, target.connectionId, turnId, deps.logger);
      await reply(frame).catch((sendError: unknown) =>
        deps.logger.warn('error_send_failed', {
          connectionId: target.connectionId,
          error: describe(sendError),
        }),
      );
      outcome = 'failed';
    }
    return { outcome };
  };
}

async function runAgent(
  turn: TurnEvent,
  reply: (message: ServerMessage) => Promise<void>,
  deps: TurnWorkerDeps,
): Promise<AgentOutput> {
  const timer = setInterval(() => {
    reply({
      type: 'progress',
      sessionId: turn.sessionId,
      elapsedMs: deps.clock.now() - turn.acceptedAt,
    }).catch((error: unknown) => deps.logger.warn('progress_send_failed', { error: describe(error) }));
  }, deps.settings.progressIntervalMs);
  let output: AgentOutput;
  try {
    output = await deps.agent.invoke({
      prompt: turn.prompt,
      sessionId: turn.sessionId,
      signal: AbortSignal.timeout(deps.settings.agentTimeoutMs),
    });
  } finally {
    clearInterval(timer);
  }
  return offloadImages(output, turn.sessionId, deps);
}

function failureFrame(
  error: unknown,
  sessionId: string,
  connectionId: string,
  turnId: string,
  logger: Logger,
): ServerMessage {
  const { code, message } = toClientError(error);
  logger.error('turn_failed', {
    connectionId,
    sessionId,
    turnId,
    code,
    error: describe(error),
    cause: error instanceof Error && error.cause !== undefined ? describe(error.cause) : undefined,
  });
  const text =
    code === 'response_too_large'
      ? `${message} Any payment the agent made is kept in your session: ask for your wallet details.`
      : message;
  return { type: 'error', code, message: text, sessionId };
}
