/**
 * Stable, snake_case error codes of the x402 wire layer. They are part of the wire contract: a
 * client may branch on them, so never rename one; add new codes instead.
 */
export const X402_ERROR_CODES = {
  headerMissing: 'header_missing',
  headerTooLarge: 'header_too_large',
  headerNotBase64: 'header_not_base64',
  headerNotJson: 'header_not_json',
  headerInvalid: 'header_invalid',
  headerEncodeInvalid: 'header_encode_invalid',
  unsupportedVersion: 'unsupported_version',
  unsupportedScheme: 'unsupported_scheme',
  unsupportedNetwork: 'unsupported_network',
  invalidAmount: 'invalid_amount',
  invalidImageSize: 'invalid_image_size',
  invalidImageQuality: 'invalid_image_quality',
  invalidTxHash: 'invalid_tx_hash',
  invalidAddress: 'invalid_address',
  invalidAuthorization: 'invalid_authorization',
  devnetKeyRefused: 'devnet_key_refused',
} as const;

export type X402ErrorCode = (typeof X402_ERROR_CODES)[keyof typeof X402_ERROR_CODES];

export interface AppErrorOptions {
  /** HTTP status an edge adapter should answer with (default 400). */
  httpStatus?: number;
  /** The foreign error this one translates (viem, zod, AWS SDK, ...). */
  cause?: unknown;
  /** Extra, non-secret facts for logs and error bodies (for example zod issue paths). */
  details?: Record<string, unknown>;
}

/** How deep a cause chain is followed: a guard against cycles and absurd nesting. */
const MAX_CAUSE_DEPTH = 32;

/**
 * Follows `error.cause` from `error` down. Returns the first error for which `match` is true, or,
 * without `match`, the deepest one (as viem's `BaseError.walk()`). Modules find each other's errors
 * this way, by class and code, never by parsing message text.
 *
 * @example
 * const refused = walkErrors(error, (e) => e instanceof PaymentRefusedError);
 */
export function walkErrors(error: unknown, match?: (error: unknown) => boolean): unknown {
  const seen = new Set<unknown>();
  let current = error;
  for (let depth = 0; depth < MAX_CAUSE_DEPTH && current !== undefined && !seen.has(current); depth++) {
    if (match?.(current)) return current;
    seen.add(current);
    const next = current instanceof Error ? current.cause : undefined;
    if (next === undefined || next === null) return match ? undefined : current;
    current = next;
  }
  return match ? undefined : current;
}

/**
 * The first error of a class in a cause chain, typed.
 *
 * @example
 * const refused = findError(error, PaymentRefusedError); // PaymentRefusedError | undefined
 */
export function findError<T extends Error>(
  error: unknown,
  // biome-ignore lint/suspicious/noExplicitAny: any constructor signature
  type: abstract new (...args: any[]) => T,
): T | undefined {
  return walkErrors(error, (e) => e instanceof type) as T | undefined;
}

/**
 * The one typed error base of the project. Every package throws it (or a subclass) for anything
 * a caller can act on; an app's `onError` maps it to `{ "error": code, "message": message }`
 * with `httpStatus`. Anything that is not an AppError is a fault and becomes an opaque 500.
 * `Code` narrows the code to a package's union where the code is part of a contract.
 *
 * @example
 * throw new AppError('invalid_amount', 'amount must be a decimal string', { httpStatus: 400 });
 */
export class AppError<Code extends string = string> extends Error {
  override name = 'AppError';
  readonly code: Code;
  readonly httpStatus: number;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: Code, message: string, options: AppErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.httpStatus = options.httpStatus ?? 400;
    this.details = options.details;
  }

  /** This error and its causes, first match (or the deepest without `match`); see `walkErrors`. */
  walk(match?: (error: unknown) => boolean): unknown {
    return walkErrors(this, match);
  }

  /** The body an HTTP edge sends for this error. Never includes `cause` (it may hold secrets). */
  toJSON(): { error: Code; message: string } {
    return { error: this.code, message: this.message };
  }
}

/**
 * True for an AppError, including one created by another copy of this module (duplicate installs
 * break `instanceof`, so the shape is checked as well). A subclass keeps its own `name`, so the
 * shape check accepts any name when the prototype chain says AppError.
 */
export function isAppError(value: unknown): value is AppError {
  if (value instanceof AppError) return true;
  if (!(value instanceof Error) || value.name !== 'AppError') return false;
  const candidate = value as Error & { code?: unknown; httpStatus?: unknown };
  return typeof candidate.code === 'string' && typeof candidate.httpStatus === 'number';
}

/**
 * The first AppError in a cause chain (an adapter's translation of a foreign error, or one wrapped
 * by a library that kept `cause`), optionally with one of the given codes.
 *
 * @example
 * const error = findAppError(thrown, ['wallet_budget_exceeded']);
 */
export function findAppError<Code extends string>(
  error: unknown,
  codes?: readonly Code[],
): AppError<Code> | undefined {
  return walkErrors(
    error,
    (e) => isAppError(e) && (codes === undefined || (codes as readonly string[]).includes(e.code)),
  ) as AppError<Code> | undefined;
}
