/** Stable snake_case codes for devnet failures. */
export type DevnetErrorCode =
  | 'anvil_binary_missing'
  | 'port_in_use'
  | 'anvil_exited'
  | 'anvil_start_timeout'
  | 'devnet_setup_failed'
  | 'not_a_devnet';

/** The devnet's typed error: a stable `code` plus a one-line message. */
export class DevnetError extends Error {
  override readonly name = 'DevnetError';
  readonly code: DevnetErrorCode;

  constructor(code: DevnetErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}
