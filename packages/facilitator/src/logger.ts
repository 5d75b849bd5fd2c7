/** One JSON object per line on stdout. Callers pass only safe fields: never keys or signatures. */
export type LogRecord = Record<string, string | number | boolean | null | undefined>;

export interface Logger {
  info(msg: string, fields?: LogRecord): void;
  warn(msg: string, fields?: LogRecord): void;
  error(msg: string, fields?: LogRecord): void;
}

export function createJsonLogger(
  write: (line: string) => void = (line) => process.stdout.write(`${line}\n`),
  base: LogRecord = { service: 'facilitator' },
): Logger {
  const emit = (level: string, msg: string, fields?: LogRecord) =>
    write(JSON.stringify({ time: new Date().toISOString(), level, ...base, msg, ...fields }));
  return {
    info: (msg, fields) => emit('info', msg, fields),
    warn: (msg, fields) => emit('warn', msg, fields),
    error: (msg, fields) => emit('error', msg, fields),
  };
}

/** A logger that keeps the records in memory (tests) or drops them. */
export function createMemoryLogger(): Logger & { records: Array<Record<string, unknown>> } {
  const records: Array<Record<string, unknown>> = [];
  const push = (level: string) => (msg: string, fields?: LogRecord) =>
    records.push({ level, msg, ...fields });
  return { records, info: push('info'), warn: push('warn'), error: push('error') };
}
