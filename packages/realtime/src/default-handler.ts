import { z } from 'zod';
import { describe, WebsocketRequestContext, type WebsocketRouteHandler } from './connect-handler.ts';
import { ClientMessage, type ErrorCode } from './messages.ts';
import type {
  ClientMessenger,
  Clock,
  ConnectionStore,
  Logger,
  TurnDispatcher,
  TurnRegistry,
} from './ports.ts';
import { RealtimeError } from './realtime-error.ts';

const MessageEvent = z.looseObject({
  requestContext: WebsocketRequestContext.extend({ eventType: z.literal('MESSAGE') }),
  body: z.string().optional(),
  isBase64Encoded: z.boolean().optional(),
});

export interface DefaultHandlerDeps {
  connections: ConnectionStore;
  turns: TurnRegistry;
  dispatcher: TurnDispatcher;
  messenger: ClientMessenger;
  clock: Clock;
  logger: Logger;
  newTurnId: () => string;
  settings: { maxFrameBytes: number };
}

/** Errors caused by what the client sent: the handler answers 400 for these, 500 for the rest. */
const CLIENT_ERRORS: ReadonlySet<ErrorCode> = new Set([
  'binary_not_supported',
  'frame_too_large',
  'invalid_json',
  'invalid_message',
  'prompt_too_long',
  'connection_not_registered',
  'turn_in_progress',
]);

/**
 * `$default` (the agent route) only accepts a turn; the turn worker runs it. It validates
 * `{"input":{"prompt"},"session_id"}`, records the session's in-flight turn with a conditional write
 * (a second message while one runs gets `turn_in_progress` and starts nothing, so nothing is paid
 * twice), answers `processing` and hands the turn to the worker with an asynchronous invoke. It
 * returns in milliseconds, far inside API Gateway's 29 s integration timeout; `progress` and
 * `complete` come from the worker. Every failure becomes `{"type":"error","code","message"}`.
 *
 * @example export const handler = createDefaultHandler(deps);
 */
export function createDefaultHandler(deps: DefaultHandlerDeps): WebsocketRouteHandler {
  return async (event) => {
    const parsedEvent = MessageEvent.safeParse(event);
    if (!parsedEvent.success) {
      deps.logger.warn('message_event_invalid', { issues: parsedEvent.error.issues.length });
      return { statusCode: 400, body: 'invalid_event' };
    }
    const { requestContext: ctx, body, isBase64Encoded } = parsedEvent.data;
    const target = { connectionId: ctx.connectionId, domainName: ctx.domainName, stage: ctx.stage };

    let sessionId: string | undefined;
    try {
      const message = parseClientFrame(body, isBase64Encoded ?? false, deps.settings.maxFrameBytes);
      sessionId = message.session_id;
      const connection = await deps.connections.get(ctx.connectionId);
      if (!connection) {
        throw new RealtimeError('connection_not_registered', 'This connection is not registered; reconnect.');
      }
      const turnId = deps.newTurnId();
      const acceptedAt = deps.clock.now();
      const begun = await deps.turns.begin({
        sessionId,
        turnId,
        connectionId: ctx.connectionId,
        nowMs: acceptedAt,
      });
      if (!begun) {
        throw new RealtimeError(
          'turn_in_progress',
          'The agent is still working on an earlier message of this session; nothing was started. Wait for its answer (or ask for your wallet details afterwards) before sending again.',
        );
      }
      let dispatched = false;
      try {
        if (!(await deps.messenger.send(target, { type: 'processing', sessionId }))) {
          // Gone before the turn started: nothing was run, nothing was paid.
          deps.logger.warn('client_gone', { connectionId: ctx.connectionId, dropped: 'processing' });
          return { statusCode: 200, body: 'client_gone' };
        }
        await deps.dispatcher.dispatch({
          kind: 'agent_turn',
          turnId,
          sessionId,
          prompt: message.input.prompt,
          connection: target,
          acceptedAt,
        });
        dispatched = true;
      } finally {
        if (!dispatched) {
          // The worker never got the turn (or never will run it: its start needs this record).
          await deps.turns
            .finish({ sessionId, turnId })
            .catch((error: unknown) =>
              deps.logger.error('turn_release_failed', { sessionId, turnId, error: describe(error) }),
            );
        }
      }
      deps.logger.info('turn_accepted', { connectionId: ctx.connectionId, sessionId, turnId });
      return { statusCode: 200, body: 'accepted' };
    } catch (error) {
      const { code, message } = toClientError(error);
      deps.logger[CLIENT_ERRORS.has(code) ? 'warn' : 'error']('turn_refused', {
        connectionId: ctx.connectionId,
        sessionId,
        code,
        error: describe(error),
        cause: error instanceof Error && error.cause !== undefined ? describe(error.cause) : undefined,
      });
      try {
        await deps.messenger.send(target, {
          type: 'error',
          code,
          message,
          ...(sessionId ? { sessionId } : {}),
        });
      } catch (sendError) {
        deps.logger.warn('error_send_failed', { connectionId: ctx.connectionId, error: describe(sendError) });
      }
      return { statusCode: CLIENT_ERRORS.has(code) ? 400 : 500, body: code };
    }
  };
}

/** Parses one client frame; throws RealtimeError with the code the browser will see. */
export function parseClientFrame(
  body: string | undefined,
  isBase64Encoded: boolean,
  maxFrameBytes: number,
): ClientMessage {
  if (isBase64Encoded) {
    throw new RealtimeError('binary_not_supported', 'Send text frames with a JSON message.');
  }
  const text = body ?? '';
  if (Buffer.byteLength(text, 'utf8') > maxFrameBytes) {
    throw new RealtimeError('frame_too_large', `A message must be at most ${maxFrameBytes} bytes.`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new RealtimeError('invalid_json', 'The message is not valid JSON.');
  }
  const parsed = ClientMessage.safeParse(json);
  if (!parsed.success) {
    const tooLong = parsed.error.issues.find(
      (i) => i.code === 'too_big' && i.path.join('.') === 'input.prompt',
    );
    if (tooLong) throw new RealtimeError('prompt_too_long', tooLong.message);
    const detail = parsed.error.issues
      .slice(0, 3)
      .map((i) => `${i.path.join('.') || 'message'}: ${i.message}`)
      .join('; ');
    throw new RealtimeError('invalid_message', `Expected {"input":{"prompt"},"session_id"} (${detail}).`);
  }
  return parsed.data;
}

export function toClientError(error: unknown): { code: ErrorCode; message: string } {
  if (error instanceof RealtimeError) return { code: error.code, message: error.message };
  return { code: 'internal_error', message: 'Something went wrong on our side; please try again.' };
}
