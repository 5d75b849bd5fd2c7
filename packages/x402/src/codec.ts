import { z } from 'zod';
import { AppError, X402_ERROR_CODES } from './errors.ts';
import { DEFAULT_MAX_HEADER_BYTES } from './headers.ts';
import {
  PaymentPayload,
  type PaymentPayload as PaymentPayloadType,
  PaymentRequiredV1,
  type PaymentRequiredV1 as PaymentRequiredV1Type,
  PaymentRequiredV2,
  type PaymentRequiredV2 as PaymentRequiredV2Type,
  SettleResponse,
  type SettleResponse as SettleResponseType,
} from './schemas.ts';

export interface DecodeHeaderOptions {
  /** Largest accepted encoded length in characters (default 16 KiB). */
  maxBytes?: number;
  /** Header name used in error messages. */
  headerName?: string;
}

const STANDARD_B64_RE = /^[A-Za-z0-9+/]*={0,2}$/;
const URL_SAFE_B64_RE = /^[A-Za-z0-9_-]*={0,2}$/;
const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Decodes standard or URL-safe base64, padded or not, and nothing else. Buffer.from() silently
 * skips foreign characters and ignores stray bits, so the input is checked against one alphabet
 * and must re-encode to itself (canonical form).
 */
function decodeBase64Strict(raw: string): Buffer | undefined {
  const standard = STANDARD_B64_RE.test(raw);
  if (!standard && !URL_SAFE_B64_RE.test(raw)) return undefined;
  const unpadded = raw.replace(/=+$/, '');
  const padding = raw.length - unpadded.length;
  if (unpadded.length % 4 === 1) return undefined;
  if (padding > 0 && padding !== (4 - (unpadded.length % 4)) % 4) return undefined;
  const encoding = standard ? 'base64' : 'base64url';
  const bytes = Buffer.from(unpadded, encoding);
  if (bytes.toString(encoding).replace(/=+$/, '') !== unpadded) return undefined;
  return bytes;
}

function summarizeIssues(error: z.ZodError): {
  message: string;
  issues: { path: string; message: string }[];
} {
  const issues = error.issues.map((issue) => ({
    path: issue.path.map(String).join('.') || '(root)',
    message: issue.message,
  }));
  const message = issues
    .slice(0, 5)
    .map((issue) => `${issue.path}: ${issue.message}`)
    .join('; ');
  return { message, issues };
}

function label(options: DecodeHeaderOptions): string {
  return options.headerName ? `${options.headerName} header` : 'header';
}

/**
 * Encodes a JSON value as x402 does for headers: base64 (standard alphabet, padded) of the UTF-8
 * JSON text, which is what the official decoders accept.
 */
export function encodeHeader(value: unknown): string {
  let json: string | undefined;
  try {
    json = JSON.stringify(value);
  } catch (cause) {
    throw new AppError(X402_ERROR_CODES.headerEncodeInvalid, 'header value is not JSON-serializable', {
      httpStatus: 500,
      cause,
    });
  }
  if (json === undefined) {
    throw new AppError(X402_ERROR_CODES.headerEncodeInvalid, 'header value is not JSON-serializable', {
      httpStatus: 500,
    });
  }
  return Buffer.from(json, 'utf8').toString('base64');
}

/**
 * Decodes a base64(JSON) header and validates it with `schema`. Every failure is an AppError with a
 * stable code: `header_missing` (402), `header_too_large`, `header_not_base64`, `header_not_json`,
 * `header_invalid` (400). The zod error is kept as `cause` and the issue paths in `details`.
 *
 * @example
 * const required = decodeHeader(res.headers.get('PAYMENT-REQUIRED'), PaymentRequiredV2);
 */
export function decodeHeader<S extends z.ZodType>(
  raw: string | null | undefined,
  schema: S,
  options: DecodeHeaderOptions = {},
): z.output<S> {
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_HEADER_BYTES;
  const value = typeof raw === 'string' ? raw.trim() : '';
  if (value.length === 0) {
    throw new AppError(X402_ERROR_CODES.headerMissing, `${label(options)} is missing`, { httpStatus: 402 });
  }
  if (value.length > maxBytes) {
    throw new AppError(
      X402_ERROR_CODES.headerTooLarge,
      `${label(options)} is ${value.length} bytes, more than the limit of ${maxBytes}`,
    );
  }
  const bytes = decodeBase64Strict(value);
  if (!bytes) {
    throw new AppError(X402_ERROR_CODES.headerNotBase64, `${label(options)} is not valid base64`);
  }
  let json: unknown;
  try {
    json = JSON.parse(utf8.decode(bytes));
  } catch (cause) {
    throw new AppError(X402_ERROR_CODES.headerNotJson, `${label(options)} does not contain UTF-8 JSON`, {
      cause,
    });
  }
  const result = schema.safeParse(json);
  if (!result.success) {
    const { message, issues } = summarizeIssues(result.error);
    throw new AppError(X402_ERROR_CODES.headerInvalid, `${label(options)} is invalid: ${message}`, {
      cause: result.error,
      details: { issues },
    });
  }
  return result.data;
}

function encodeValidated(schema: z.ZodType, value: unknown, what: string): string {
  const result = schema.safeParse(value);
  if (!result.success) {
    const { message, issues } = summarizeIssues(result.error);
    throw new AppError(
      X402_ERROR_CODES.headerEncodeInvalid,
      `refusing to encode an invalid ${what}: ${message}`,
      {
        httpStatus: 500,
        cause: result.error,
        details: { issues },
      },
    );
  }
  return encodeHeader(value);
}

/** Encodes the v2 402 object for the `PAYMENT-REQUIRED` header (validated first). */
export function encodePaymentRequiredHeader(value: PaymentRequiredV2Type): string {
  return encodeValidated(PaymentRequiredV2, value, 'PAYMENT-REQUIRED value');
}

/** Decodes and validates a `PAYMENT-REQUIRED` header. */
export function decodePaymentRequiredHeader(
  raw: string | null | undefined,
  options: DecodeHeaderOptions = {},
): PaymentRequiredV2Type {
  return decodeHeader(raw, PaymentRequiredV2, { headerName: 'PAYMENT-REQUIRED', ...options });
}

/** Encodes a v1 or v2 payment payload for `PAYMENT-SIGNATURE` / `X-PAYMENT` (validated first). */
export function encodePaymentHeader(value: PaymentPayloadType): string {
  return encodeValidated(PaymentPayload, value, 'payment payload');
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Decodes a `PAYMENT-SIGNATURE` or `X-PAYMENT` header into a v1 or v2 exact-EVM payment payload.
 * Besides the generic codes, an `x402Version` other than 1 or 2 is `unsupported_version` and a
 * scheme other than `exact` is `unsupported_scheme`; unknown fields are `header_invalid`.
 *
 * @example
 * const payment = decodePaymentHeader(c.req.header('PAYMENT-SIGNATURE'));
 * if (payment.x402Version === 2) payment.accepted.amount;
 */
export function decodePaymentHeader(
  raw: string | null | undefined,
  options: DecodeHeaderOptions = {},
): PaymentPayloadType {
  const opts = { headerName: 'payment', ...options };
  const json = decodeHeader(raw, z.unknown(), opts);
  if (!isRecord(json) || !('x402Version' in json)) {
    throw new AppError(X402_ERROR_CODES.headerInvalid, `${label(opts)} is invalid: x402Version is missing`);
  }
  const version = json.x402Version;
  if (version !== 1 && version !== 2) {
    throw new AppError(
      X402_ERROR_CODES.unsupportedVersion,
      `x402Version ${JSON.stringify(version)?.slice(0, 20)} is not supported; use 1 or 2`,
    );
  }
  const scheme = version === 1 ? json.scheme : isRecord(json.accepted) ? json.accepted.scheme : undefined;
  if (typeof scheme === 'string' && scheme !== 'exact') {
    throw new AppError(
      X402_ERROR_CODES.unsupportedScheme,
      `scheme ${JSON.stringify(scheme.slice(0, 32))} is not supported; only "exact" is`,
    );
  }
  const result = PaymentPayload.safeParse(json);
  if (!result.success) {
    const { message, issues } = summarizeIssues(result.error);
    throw new AppError(X402_ERROR_CODES.headerInvalid, `${label(opts)} is invalid: ${message}`, {
      cause: result.error,
      details: { issues },
    });
  }
  return result.data;
}

/**
 * Encodes a settlement result for `PAYMENT-RESPONSE` / `X-PAYMENT-RESPONSE`. Like the official
 * encoder, `extensionResponses` (seller-side data) is left out of the buyer-facing header.
 */
export function encodePaymentResponseHeader(value: SettleResponseType): string {
  const { extensionResponses: _sellerOnly, ...buyerFacing } = value;
  return encodeValidated(SettleResponse, buyerFacing, 'payment response');
}

/** Decodes and validates a `PAYMENT-RESPONSE` / `X-PAYMENT-RESPONSE` header. */
export function decodePaymentResponseHeader(
  raw: string | null | undefined,
  options: DecodeHeaderOptions = {},
): SettleResponseType {
  return decodeHeader(raw, SettleResponse, { headerName: 'PAYMENT-RESPONSE', ...options });
}

export interface ReadPaymentRequiredParameters {
  /** Value of the `PAYMENT-REQUIRED` response header, if any. */
  header: string | null | undefined;
  /** The parsed JSON body of the 402 response, if any. */
  body?: unknown;
}

/**
 * Reads a 402 response the way the official client does: the v2 `PAYMENT-REQUIRED` header wins;
 * without it, the body must be a v1 402 body. A bad header is reported with the codec's codes; a
 * missing header with an invalid body is `header_missing` (402) or `header_invalid`.
 *
 * @example
 * const required = readPaymentRequired({ header: res.headers.get('PAYMENT-REQUIRED'), body: await res.json() });
 */
export function readPaymentRequired(
  parameters: ReadPaymentRequiredParameters,
): PaymentRequiredV1Type | PaymentRequiredV2Type {
  const header = typeof parameters.header === 'string' ? parameters.header.trim() : '';
  if (header.length > 0) return decodePaymentRequiredHeader(header);
  const body = parameters.body;
  if (!isRecord(body) || body.x402Version !== 1) {
    throw new AppError(
      X402_ERROR_CODES.headerMissing,
      'the 402 response has no PAYMENT-REQUIRED header and no x402 v1 body',
      { httpStatus: 402 },
    );
  }
  const result = PaymentRequiredV1.safeParse(body);
  if (!result.success) {
    const { message, issues } = summarizeIssues(result.error);
    throw new AppError(X402_ERROR_CODES.headerInvalid, `the x402 v1 402 body is invalid: ${message}`, {
      cause: result.error,
      details: { issues },
    });
  }
  return result.data;
}
