import { AppError } from '@agentic-payments/x402';

/** Stable error codes of the imaging adapters and their HTTP statuses (part of the gateway's wire contract). */
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

/**
 * The imaging adapters' error: an `AppError` (so the gateway's `onError` answers
 * `{ "error": code, "message" }` with `httpStatus`) whose code is one of {@link IMAGING_ERRORS}.
 */
export class ImagingError extends AppError {
  declare readonly code: ImagingErrorCode;

  constructor(
    code: ImagingErrorCode,
    message: string,
    options: { cause?: unknown; details?: Record<string, unknown> } = {},
  ) {
    super(code, message, { ...options, httpStatus: IMAGING_ERRORS[code] });
  }
}

export function isImagingError(err: unknown): err is ImagingError {
  return err instanceof ImagingError;
}
