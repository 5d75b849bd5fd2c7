import type { Logger } from './ports.ts';

/** One JSON line per event, the shape CloudWatch Logs Insights queries well. */
export function createJsonLogger(service = 'realtime', write: (line: string) => void = console.log): Logger {
  const emit = (level: string, event: string, fields?: Record<string, unknown>) =>
    write(JSON.stringify({ level, service, event, time: new Date().toISOString(), ...fields }));
  return {
    info: (event, fields) => emit('info', event, fields),
    warn: (event, fields) => emit('warn', event, fields),
    error: (event, fields) => emit('error', event, fields),
  };
}

export const silentLogger: Logger = { info() {}, warn() {}, error() {} };
