import {
  createJsonLogger as createSharedJsonLogger,
  createMemoryLogger as createSharedMemoryLogger,
  type Logger,
} from '@agentic-payments/x402';

/**
 * The project's one logger (`@agentic-payments/x402`): one JSON object per line on stdout with
 * `time`, `level`, `service`, `event` and the caller's fields, secret-looking keys dropped.
 */
export type { Logger };
/** Field values this service logs (callers pass only safe fields: never keys or signatures). */
export type LogRecord = Record<string, string | number | boolean | null | undefined>;

export function createJsonLogger(
  write?: (line: string) => void,
  base: { service?: string } = { service: 'facilitator' },
): Logger {
  return createSharedJsonLogger({ service: base.service ?? 'facilitator', ...(write ? { write } : {}) });
}

/** A logger that keeps the records in memory (tests) or drops them. */
export function createMemoryLogger(): Logger & { records: Array<Record<string, unknown>> } {
  return createSharedMemoryLogger({ service: 'facilitator' });
}
