import { AppError } from '@agentic-payments/x402';
import type { ErrorCode } from './messages.ts';

/** The one error type of this package (an `AppError`): a stable code the browser sees, and a message safe to show. */
export class RealtimeError extends AppError<ErrorCode> {
  override name = 'RealtimeError';

  constructor(code: ErrorCode, message: string, options: { cause?: unknown } = {}) {
    super(code, message, options);
  }
}
