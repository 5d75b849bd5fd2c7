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

/**
 * The one typed error base of the project. Every package throws it (or a subclass) for anything
 * a caller can act on; an app's `onError` maps it to `{ "error": code, "message": message }`
 * with `httpStatus`. Anything that is not an AppError is a fault and becomes an opaque 500.
 *
 * @example
 * throw new AppError('invalid_amount', 'amount must be a decimal string', { httpStatus: 400 });
 */
export class AppError extends Error {
  override readonly name = 'AppError';
  readonly code: string;
  readonly httpStatus: number;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: string, message: string, options: AppErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.httpStatus = options.httpStatus ?? 400;
    this.details = options.details;
  }

  /** The body an HTTP edge sends for this error. Never includes `cause` (it may hold secrets). */
  toJSON(): { error: string; message: string } {
    return { error: this.code, message: this.message };
  }
}

/**
 * True for an AppError, including one created by another copy of this module (duplicate installs
 * break `instanceof`, so the shape is checked as well).
 */
export function isAppError(value: unknown): value is AppError {
  if (value instanceof AppError) return true;
  if (!(value instanceof Error) || value.name !== 'AppError') return false;
  const candidate = value as Error & { code?: unknown; httpStatus?: unknown };
  return typeof candidate.code === 'string' && typeof candidate.httpStatus === 'number';
}
