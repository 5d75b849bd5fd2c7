import {
  createJsonLogger as createSharedJsonLogger,
  createMemoryLogger as createSharedMemoryLogger,
  type Logger,
} from '@agentic-payments/x402';

/** The project's one logger (`@agentic-payments/x402`), with the gateway's service name by default. */
export type { Logger };

export function createJsonLogger(options: { service?: string; write?: (line: string) => void } = {}): Logger {
  return createSharedJsonLogger({
    service: options.service ?? 'gateway',
    ...(options.write ? { write: options.write } : {}),
  });
}

/** A logger that keeps lines in memory (tests assert on them). */
export function createMemoryLogger(): Logger & { readonly lines: string[] } {
  return createSharedMemoryLogger({ service: 'gateway' });
}
