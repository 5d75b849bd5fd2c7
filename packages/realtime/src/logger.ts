import { createJsonLogger as createSharedJsonLogger, silentLogger } from '@agentic-payments/x402';
import type { Logger } from './ports.ts';

/** One JSON line per event, the shape CloudWatch Logs Insights queries well (the project's one logger). */
export function createJsonLogger(service = 'realtime', write: (line: string) => void = console.log): Logger {
  return createSharedJsonLogger({ service, write });
}

export { silentLogger };
