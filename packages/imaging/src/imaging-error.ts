/**
 * Stable error codes of the imaging adapters (part of the gateway's wire contract).
 * Converges on `AppError` from `@agentic-payments/x402` once that lands.
 */
export const IMAGING_ERRORS = {
  invalid_image_request: 400,
  invalid_image: 400,
  content_filtered: 422,
  model_throttled: 503,
  model_access_denied: 502,
  generation_timeout: 504,
  generation_failed: 502,
  analysis_timeout: 504,
  analysis_failed: 502,
} as const;

export type ImagingErrorCode = keyof typeof IMAGING_ERRORS;

export class ImagingError extends Error {
  override readonly name = 'ImagingError';
  readonly code: ImagingErrorCode;
  readonly httpStatus: number;

  constructor(code: ImagingErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.httpStatus = IMAGING_ERRORS[code];
  }
}

export function isImagingError(err: unknown): err is ImagingError {
  return err instanceof ImagingError;
}
