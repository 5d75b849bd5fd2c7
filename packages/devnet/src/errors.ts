import { AppError } from '@agentic-payments/x402';

/** Stable snake_case codes for devnet failures. */
export type DevnetErrorCode =
  | 'anvil_binary_missing'
  | 'port_in_use'
  | 'anvil_exited'
  | 'anvil_start_timeout'
  | 'devnet_setup_failed'
  | 'not_a_devnet';

/** The devnet's typed error: an `AppError` with a stable `code` plus a one-line message. */
export class DevnetError extends AppError<DevnetErrorCode> {
  override name = 'DevnetError';

  constructor(code: DevnetErrorCode, message: string, options: { cause?: unknown } = {}) {
    super(code, message, { httpStatus: 500, ...options });
  }
}
