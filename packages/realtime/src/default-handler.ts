import { z } from 'zod';
import { describe, WebsocketRequestContext, type WebsocketRouteHandler } from './connect-handler.ts';
import { ClientMessage, type ErrorCode, type ServerMessage } from './messages.ts';
import { offloadImages } from './offload-images.ts';
import type { AgentInvoker, ClientMessenger, Clock, ConnectionStore, ImageStore, Logger } from './ports.ts';
import { RealtimeError } from './realtime-error.ts';

const MessageEvent = z.looseObject({
  requestContext: WebsocketRequestContext.extend({ eventType: z.literal('MESSAGE') }),
  body: z.string().optional(),
  isBase64Encoded: z.boolean().optional(),
});

export interface DefaultHandlerDeps {
  connections: ConnectionStore;
  agent: AgentInvoker;
  images: ImageStore;
  messenger: ClientMessenger;
  clock: Clock;
  logger: Logger;
  settings: {
    maxFrameBytes: number;
    progressIntervalMs: number;
    agentTimeoutMs: number;
  };
}

/** Errors caused by what the client sent: the handler answers 400 for these, 500 for the rest. */
const CLIENT_ERRORS: ReadonlySet<ErrorCode> = new Set([
  'binary_not_supported',
  'frame_too_large',
  'invalid_json',
  'invalid_message',
  'prompt_too_long',
  'connection_not_registered',
]);

/**
 * `$default` (the agent route): validates `{"input":{"prompt"},"session_id"}`, answers `processing`,
 * invokes the agent once while sending `progress` frames, moves images to the image store and sends
 * `complete`. Every failure becomes `{"type":"error","code","message"}`; stacks stay in the logs.
 * The agent is never invoked twice for one frame, so a lost client cannot cause a second payment.
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

    // Frames go out strictly in order (a late `progress` must never follow `complete`), and stop once
    // the client is gone; the turn itself still completes.
    let clientGone = false;
    let queue: Promise<void> = Promise.resolve();
    const reply = (message: ServerMessage): Promise<void> => {
      const sent = queue.then(async () => {
        if (clientGone) return;
        const delivered = await deps.messenger.send(target, message);
        if (!delivered) {
          clientGone = true;
          deps.logger.warn('client_gone', { connectionId: ctx.connectionId, dropped: message.type });
        }
      });
      // A failed send fails only its own caller; later frames still go out, in order.
      queue = sent.catch(() => {});
      return sent;
    };

    let sessionId: string | undefined;
    const started = deps.clock.now();
    try {
      const message = parseClientFrame(body, isBase64Encoded ?? false, deps.settings.maxFrameBytes);
      sessionId = message.session_id;
      const connection = await deps.connections.get(ctx.connectionId);
      if (!connection) {
        throw new RealtimeError('connection_not_registered', 'This connection is not registered; reconnect.');
      }
      await reply({ type: 'processing', sessionId });

      const currentSession = sessionId;
      const timer = setInterval(() => {
        reply({ type: 'progress', sessionId: currentSession, elapsedMs: deps.clock.now() - started }).catch(
          (error: unknown) => deps.logger.warn('progress_send_failed', { error: describe(error) }),
        );
      }, deps.settings.progressIntervalMs);
      let output: Awaited<ReturnType<AgentInvoker['invoke']>>;
      try {
        output = await deps.agent.invoke({
          prompt: message.input.prompt,
          sessionId,
          signal: AbortSignal.timeout(deps.settings.agentTimeoutMs),
        });
      } finally {
        clearInterval(timer);
      }
      const delivered = await offloadImages(output, sessionId, deps);
      await reply({ type: 'complete', sessionId, response: { output: delivered } });
      deps.logger.info('turn_complete', {
        connectionId: ctx.connectionId,
        sessionId,
        ms: deps.clock.now() - started,
        images: Object.keys(delivered.images ?? {}).length,
        payments: delivered.payments?.length ?? 0,
        delivered: !clientGone,
      });
      return { statusCode: 200, body: 'ok' };
    } catch (error) {
      const { code, message } = toClientError(error);
      deps.logger[CLIENT_ERRORS.has(code) ? 'warn' : 'error']('turn_failed', {
        connectionId: ctx.connectionId,
        sessionId,
        code,
        error: describe(error),
        cause: error instanceof Error && error.cause !== undefined ? describe(error.cause) : undefined,
      });
      try {
        await reply({ type: 'error', code, message, ...(sessionId ? { sessionId } : {}) });
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

function toClientError(error: unknown): { code: ErrorCode; message: string } {
  if (error instanceof RealtimeError) return { code: error.code, message: error.message };
  return { code: 'internal_error', message: 'Something went wrong on our side; please try again.' };
}
