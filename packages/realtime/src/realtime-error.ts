import type { ErrorCode } from './messages.ts';

/** The one error type of this package: a stable code the browser sees, and a message safe to show. */
export class RealtimeError extends Error {
  override name = 'RealtimeError';
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}
