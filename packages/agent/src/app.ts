import { isAppError } from '@agentic-payments/x402';
import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { z } from 'zod';
import type { AgentRuntime } from './agent-runtime.ts';
import { OFFLINE_PLANNER_NOTE } from './offline-planner.ts';

/** AgentCore passes the session in this header; the body's `session_id` wins when both are present. */
export const SESSION_HEADER = 'X-Amzn-Bedrock-AgentCore-Runtime-Session-Id';

/** Longest prompt a turn accepts (characters, after trimming). */
export const MAX_PROMPT_CHARS = 8000;

/**
 * Largest `/invocations` body read. AgentCore's InvokeAgentRuntime accepts payloads up to 100 MB,
 * far more than this contract uses: the largest valid body is an 8,000-character prompt, at most
 * 48,000 bytes even with every character JSON-escaped (`\uXXXX`), plus a session id of 256. 64 KiB
 * holds that; anything larger is refused from its Content-Length (or once the streamed body passes
 * the limit), before it is read and parsed.
 */
export const MAX_INVOCATION_BODY_BYTES = 64 * 1024;

const InvocationBody = z.object({
  input: z.object({ prompt: z.string().trim().min(1).max(MAX_PROMPT_CHARS) }).loose(),
  session_id: z.string().optional(),
});

const SessionId = z
  .string()
  .min(1)
  .max(256)
  .regex(/^[\w.:@-]+$/, 'session ids may contain letters, digits and _ . : @ - only');

function badRequest(error: string, message: string) {
  return { error, message };
}

/**
 * The AgentCore Runtime HTTP contract: `POST /invocations`, `GET /ping`.
 *
 * @example
 * const app = createApp({ runtime, log: console.log });
 * await app.request('/ping'); // { status: 'Healthy', ... }
 */
export function createApp(deps: {
  runtime: AgentRuntime;
  log: (entry: Record<string, unknown>) => void;
}): Hono {
  const { runtime } = deps;
  const app = new Hono();

  app.get('/ping', (c) =>
    c.json({
      status: runtime.busy ? 'HealthyBusy' : 'Healthy',
      time_of_last_update: Math.floor(Date.now() / 1000),
      model: runtime.model.id,
      model_is_llm: runtime.model.isLlm,
      ...(runtime.model.isLlm ? {} : { model_note: OFFLINE_PLANNER_NOTE }),
    }),
  );

  const limitBody = bodyLimit({
    maxSize: MAX_INVOCATION_BODY_BYTES,
    onError: (c) =>
      c.json(
        badRequest(
          'payload_too_large',
          `the request body must be at most ${MAX_INVOCATION_BODY_BYTES} bytes (prompts at most ${MAX_PROMPT_CHARS} characters)`,
        ),
        413,
      ),
  });

  app.post('/invocations', limitBody, async (c) => {
    const text = await c.req.text();
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      return c.json(
        badRequest(
          'invalid_json',
          'the request body must be JSON like {"input":{"prompt":"..."},"session_id":"..."}',
        ),
        400,
      );
    }
    const parsed = InvocationBody.safeParse(json);
    if (!parsed.success) {
      const promptTooLong = parsed.error.issues.some(
        (issue) => issue.path.join('.') === 'input.prompt' && issue.code === 'too_big',
      );
      const missingPrompt = parsed.error.issues.some((issue) => issue.path[0] === 'input');
      return c.json(
        promptTooLong
          ? badRequest(
              'prompt_too_long',
              `input.prompt must be at most ${MAX_PROMPT_CHARS} characters; shorten it and send it again`,
            )
          : missingPrompt
            ? badRequest(
                'missing_prompt',
                `input.prompt is required: a non-empty string of at most ${MAX_PROMPT_CHARS} characters`,
              )
            : badRequest(
                'invalid_request',
                parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '),
              ),
        400,
      );
    }
    const rawSession = parsed.data.session_id ?? c.req.header(SESSION_HEADER);
    if (rawSession === undefined) {
      return c.json(
        badRequest('missing_session_id', `provide "session_id" in the body or the ${SESSION_HEADER} header`),
        400,
      );
    }
    const session = SessionId.safeParse(rawSession);
    if (!session.success) {
      return c.json(
        badRequest('invalid_session_id', session.error.issues[0]?.message ?? 'invalid session id'),
        400,
      );
    }
    const output = await runtime.invoke(session.data, parsed.data.input.prompt);
    return c.json({ output });
  });

  app.notFound((c) => c.json(badRequest('not_found', `no route ${c.req.method} ${c.req.path}`), 404));
  app.onError((error, c) => {
    if (isAppError(error)) return c.json(error.toJSON(), error.httpStatus as 400);
    deps.log({ level: 'error', event: 'unhandled_error', error: error.message, stack: error.stack });
    return c.json({ error: 'internal_error', message: 'the agent failed to process this request' }, 500);
  });
  return app;
}
