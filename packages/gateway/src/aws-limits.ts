import { isUtf8 } from 'node:buffer';

/**
 * What AWS enforces around the gateway in the cloud (API Gateway HTTP API → Lambda), as constants
 * the app and the purchase flow size themselves against, and as a wrapper that makes the Node
 * server enforce the same, so a design that fails in the cloud fails in the local tests.
 *
 * - Lambda's synchronous response payload: 6,291,556 bytes for the whole serialized result
 *   (`{statusCode, headers, body, isBase64Encoded}`); over it Lambda fails the invocation with
 *   `Function.ResponseSizeTooLarge` and the HTTP API answers 500 `{"message":"Internal Server Error"}`.
 * - HTTP API integration timeout: 30 s (not adjustable); past it the client gets 503
 *   `{"message":"Service Unavailable"}` while the function may still run (and settle) to its end.
 * - HTTP API payload: 10 MB; request line and headers: 10,240 bytes together (API Gateway refuses
 *   more before the function runs, so in the cloud a payment header never reaches the gateway's
 *   16 KiB check; locally Node lets it through so that check answers with its code).
 *
 * Sources: Lambda quotas ("Invocation payload (request and response) 6 MB each for synchronous"),
 * API Gateway "Quotas for configuring and running an HTTP API".
 */

/** Lambda's synchronous response limit, as its error message states it (6 MiB + 100 bytes). */
export const LAMBDA_SYNC_RESPONSE_MAX_BYTES = 6_291_556;
/** API Gateway HTTP API's maximum integration timeout. */
export const HTTP_API_TIMEOUT_MS = 30_000;
/** API Gateway HTTP API's payload limit (requests and responses). */
export const HTTP_API_PAYLOAD_MAX_BYTES = 10 * 1024 * 1024;
/** API Gateway HTTP API's limit on the request line and header values together. */
export const HTTP_API_REQUEST_HEADERS_MAX_BYTES = 10_240;

/** API Gateway's own answers when the integration fails; no `error` code: AWS writes these. */
export const LAMBDA_ERROR_ANSWER = { status: 500, body: { message: 'Internal Server Error' } } as const;
export const INTEGRATION_TIMEOUT_ANSWER = { status: 503, body: { message: 'Service Unavailable' } } as const;

export interface AwsLimitsOptions {
  /** Default LAMBDA_SYNC_RESPONSE_MAX_BYTES. */
  readonly maxResponseBytes?: number;
  /** Default HTTP_API_TIMEOUT_MS. */
  readonly timeoutMs?: number;
  /**
   * Paths that the cloud serves from elsewhere (the local `/images/:id` stands in for S3 presigned
   * URLs, which are not behind Lambda): answered without the Lambda limits.
   */
  readonly exempt?: (path: string) => boolean;
  /** Told about every answer AWS would have replaced (so a test or an operator sees why). */
  readonly onLimit?: (event: {
    readonly limit: 'response_too_large' | 'integration_timeout';
    readonly path: string;
    readonly bytes?: number;
  }) => void;
}

type Fetch = (request: Request, env?: unknown) => Response | Promise<Response>;

/** Content types hono/aws-lambda sends base64-encoded (`isBase64Encoded: true`). */
const TEXT_TYPES = /^(text\/|application\/(json|javascript|xml|x-www-form-urlencoded)|image\/svg\+xml)/i;

/**
 * Size of the result Lambda would have to return for `response`, the way `hono/aws-lambda` builds
 * it: the body as text (binary types as base64) inside the JSON result with status and headers.
 * Reads a clone; the caller's response stays unread.
 */
export async function lambdaResultBytes(response: Response): Promise<number> {
  return lambdaResultBytesOf(response, new Uint8Array(await response.clone().arrayBuffer()));
}

/**
 * `lambdaResultBytes` of a response whose body is `body`, computed without building the result:
 * the envelope is serialized with an empty body and the body's serialized length is added (base64:
 * 4 per 3 bytes; text: its UTF-8 bytes plus what `JSON.stringify` adds to escape it). Serializing
 * a 1.3 MB image answer to measure it cost ~15 ms of CPU per paid request (`pnpm bench`).
 */
export function lambdaResultBytesOf(
  response: Pick<Response, 'status' | 'headers'>,
  body: Uint8Array,
): number {
  const contentType = response.headers.get('content-type') ?? '';
  const base64 = body.length > 0 && !TEXT_TYPES.test(contentType);
  const envelope = Buffer.byteLength(
    JSON.stringify({
      statusCode: response.status,
      headers: Object.fromEntries(response.headers),
      body: '',
      isBase64Encoded: base64,
    }),
  );
  if (base64) return envelope + Math.ceil(body.length / 3) * 4;
  // Invalid UTF-8 decodes to U+FFFD replacements of other lengths: measure it the long way.
  if (!isUtf8(body)) return envelope + Buffer.byteLength(JSON.stringify(new TextDecoder().decode(body))) - 2;
  return envelope + jsonStringBytes(body);
}

/**
 * UTF-8 length of a valid UTF-8 text once `JSON.stringify` has escaped it (quotes excluded):
 * `"` and `\` and the short control escapes (\b \t \n \f \r) take 2 bytes, other control
 * characters 6 (`\u00XX`); everything else, non-ASCII included, is kept as is.
 */
function jsonStringBytes(body: Uint8Array): number {
  // One native byte search (memchr) per escaped byte value: ~0.5 ms for a 1.3 MB answer, where a
  // JS loop or a regex took ~3 ms and JSON.stringify + byteLength ~9 ms. In valid UTF-8 these
  // bytes never occur inside a multi-byte character.
  const buffer = Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  const count = (byte: number) => {
    let n = 0;
    for (let at = buffer.indexOf(byte); at !== -1; at = buffer.indexOf(byte, at + 1)) n += 1;
    return n;
  };
  let extra = count(0x22) + count(0x5c);
  for (let byte = 0; byte < 0x20; byte++) extra += count(byte) * (SHORT_ESCAPES.has(byte) ? 1 : 5);
  return body.length + extra;
}

/** \b \t \n \f \r: escaped in two bytes; other control characters in six (\u00XX). */
const SHORT_ESCAPES = new Set([0x08, 0x09, 0x0a, 0x0c, 0x0d]);

/**
 * Wraps the app's `fetch` for the Node server with Lambda's response limit and the HTTP API's
 * timeout, answering exactly what AWS answers when either is exceeded.
 *
 * @example
 * serve({ fetch: withAwsLimits(app.fetch, { exempt: (p) => p.startsWith('/images/') }), port });
 */
export function withAwsLimits(fetch: Fetch, options: AwsLimitsOptions = {}): Fetch {
  const maxBytes = options.maxResponseBytes ?? LAMBDA_SYNC_RESPONSE_MAX_BYTES;
  const timeoutMs = options.timeoutMs ?? HTTP_API_TIMEOUT_MS;
  return async (request, env) => {
    const path = new URL(request.url).pathname;
    if (options.exempt?.(path)) return fetch(request, env);
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), timeoutMs);
    });
    // Like the function behind a timed-out integration, the handler runs on to its end.
    const answering = Promise.resolve(fetch(request, env));
    try {
      const first = await Promise.race([answering, timedOut]);
      if (first === 'timeout') {
        answering.catch(() => undefined);
        options.onLimit?.({ limit: 'integration_timeout', path });
        return Response.json(INTEGRATION_TIMEOUT_ANSWER.body, { status: INTEGRATION_TIMEOUT_ANSWER.status });
      }
      // Read once and answer with the same bytes: no clone (a tee of the stream) per request.
      const body = new Uint8Array(await first.arrayBuffer());
      const bytes = lambdaResultBytesOf(first, body);
      if (bytes > maxBytes) {
        options.onLimit?.({ limit: 'response_too_large', path, bytes });
        return Response.json(LAMBDA_ERROR_ANSWER.body, { status: LAMBDA_ERROR_ANSWER.status });
      }
      return new Response(first.body === null ? null : body, {
        status: first.status,
        statusText: first.statusText,
        headers: first.headers,
      });
    } finally {
      clearTimeout(timer);
    }
  };
}
