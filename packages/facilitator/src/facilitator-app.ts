import { type Context, Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { createJsonLogger, type Logger } from './logger.ts';
import type { PaymentFacilitator } from './payment-facilitator.ts';
import { REQUEST_ERRORS } from './reasons.ts';
import { type FacilitatorRequest, parseFacilitatorRequest } from './request-schema.ts';

export interface FacilitatorAppDeps {
  facilitator: PaymentFacilitator;
  logger?: Logger;
  /** Largest accepted request body (default 64 KiB; a payment is about 1 KiB). */
  maxBodyBytes?: number;
}

type Route = 'verify' | 'settle';

/**
 * The x402 facilitator HTTP API: `POST /verify`, `POST /settle`, `GET /supported`, `GET /health`.
 * Rejections are answers (200 with `isValid: false` / `success: false` and a reason code, as the
 * official clients expect); a body that cannot be read is a 400 whose JSON carries the same
 * fields plus `error`, so `HTTPFacilitatorClient` surfaces the code as a `VerifyError`/`SettleError`.
 *
 * @example
 * const app = createFacilitatorApp({ facilitator: createPaymentFacilitator({ signer, network }) });
 * serve({ fetch: app.fetch, port: 4022 });
 */
export function createFacilitatorApp(deps: FacilitatorAppDeps): Hono {
  const { facilitator } = deps;
  const logger = deps.logger ?? createJsonLogger();
  const app = new Hono();

  const limit = bodyLimit({
    maxSize: deps.maxBodyBytes ?? 64 * 1024,
    onError: (c) => {
      const route = c.req.path === '/settle' ? 'settle' : 'verify';
      logger.warn('request', {
        route,
        status: 413,
        outcome: 'rejected',
        reason: REQUEST_ERRORS.payloadTooLarge,
      });
      return c.json(badRequestBody(route, REQUEST_ERRORS.payloadTooLarge, 'request body is too large'), 413);
    },
  });

  const handle = async (c: Context, route: Route) => {
    const started = performance.now();
    const ms = () => Math.round((performance.now() - started) * 10) / 10;
    let json: unknown;
    try {
      json = JSON.parse(await c.req.text());
    } catch {
      logger.warn('request', {
        route,
        status: 400,
        outcome: 'rejected',
        reason: REQUEST_ERRORS.invalidJson,
        ms: ms(),
      });
      return c.json(badRequestBody(route, REQUEST_ERRORS.invalidJson, 'body is not valid JSON'), 400);
    }
    const parsed = parseFacilitatorRequest(json);
    if (!parsed.ok) {
      logger.warn('request', { route, status: 400, outcome: 'rejected', reason: parsed.code, ms: ms() });
      return c.json(badRequestBody(route, parsed.code, parsed.message), 400);
    }
    const { request } = parsed;
    const context = {
      route,
      version: request.version,
      scheme: request.scheme,
      ...(request.scheme === 'batch-settlement'
        ? { operation: request.body.paymentPayload.payload.type }
        : {}),
      network: request.body.paymentRequirements.network,
      payer: payerOf(request),
    };
    if (route === 'verify') {
      const answer = await facilitator.verify(request);
      logger.info('request', {
        ...context,
        status: 200,
        outcome: answer.isValid ? 'valid' : 'invalid',
        reason: answer.invalidReason,
        ms: ms(),
      });
      return c.json(answer, 200);
    }
    const answer = await facilitator.settle(request, {
      bearerToken: bearerToken(c.req.header('authorization')),
    });
    // A delegated signature asked for without a valid token: 401, the rest of the body as usual.
    const status = answer.errorReason === REQUEST_ERRORS.unauthorized ? 401 : 200;
    logger.info('request', {
      ...context,
      status,
      outcome: answer.success ? 'settled' : 'failed',
      reason: answer.errorReason,
      tx: answer.transaction || undefined,
      ms: ms(),
    });
    if (status === 401) {
      return c.json(
        { error: REQUEST_ERRORS.unauthorized, message: answer.errorMessage ?? '', ...answer },
        401,
      );
    }
    return c.json(answer, 200);
  };

  app.post('/verify', limit, (c) => handle(c, 'verify'));
  app.post('/settle', limit, (c) => handle(c, 'settle'));
  app.get('/supported', (c) => c.json(facilitator.supported()));
  app.get('/health', (c) => c.json({ status: 'ok', ...facilitator.describe() }));

  app.notFound((c) =>
    c.json({ error: REQUEST_ERRORS.notFound, message: `no route ${c.req.method} ${c.req.path}` }, 404),
  );
  app.onError((error, c) => {
    logger.error('unhandled', { route: c.req.path, status: 500, error: error.message, stack: error.stack });
    return c.json({ error: REQUEST_ERRORS.internal, message: 'internal error' }, 500);
  });
  return app;
}

function payerOf(request: FacilitatorRequest): string | undefined {
  if (request.scheme === 'exact') return request.body.paymentPayload.payload.authorization.from;
  const payload = request.body.paymentPayload.payload;
  return 'channelConfig' in payload ? payload.channelConfig.payer : undefined;
}

function bearerToken(header: string | undefined): string | undefined {
  const match = header ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
  return match?.[1];
}

function badRequestBody(route: Route, code: string, message: string): Record<string, unknown> {
  const shaped =
    route === 'verify'
      ? { isValid: false, invalidReason: code, invalidMessage: message }
      : { success: false, errorReason: code, errorMessage: message, transaction: '', network: '' };
  return { error: code, message, ...shaped };
}
