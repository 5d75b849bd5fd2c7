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
  const bytes = new Uint8Array(await response.clone().arrayBuffer());
  const contentType = response.headers.get('content-type') ?? '';
  const base64 = bytes.length > 0 && !TEXT_TYPES.test(contentType);
  const result = {
    statusCode: response.status,
    headers: Object.fromEntries(response.headers),
    body: base64 ? Buffer.from(bytes).toString('base64') : new TextDecoder().decode(bytes),
    isBase64Encoded: base64,
  };
  return Buffer.byteLength(JSON.stringify(result));
}

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
      const bytes = await lambdaResultBytes(first);
      if (bytes > maxBytes) {
        options.onLimit?.({ limit: 'response_too_large', path, bytes });
        return Response.json(LAMBDA_ERROR_ANSWER.body, { status: LAMBDA_ERROR_ANSWER.status });
      }
      return first;
    } finally {
      clearTimeout(timer);
    }
  };
}
