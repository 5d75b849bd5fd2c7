/**
 * Structured JSON logs, one object per line (`time`, `level`, `service`, `event`, then the
 * caller's fields), the shape CloudWatch Logs Insights queries well. Callers pass curated fields
 * only (never headers or payloads); values under secret-looking keys are dropped whatever a caller
 * passes, and bigints are written as decimal strings. One logger for every service.
 */
export interface Logger {
  info(event: string, fields?: Record<string, unknown>): void;
  warn(event: string, fields?: Record<string, unknown>): void;
  error(event: string, fields?: Record<string, unknown>): void;
}

export type LogLevel = keyof Logger;

/** Keys whose values are never written, whatever a caller passes. */
const SECRET_KEY = /secret|private|signature|authorization|password|token|key$/i;

/** The fields as written: secret-looking keys dropped, bigints as decimal strings. */
export function scrubLogFields(fields: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(fields)) {
    if (SECRET_KEY.test(key)) continue;
    out[key] = typeof value === 'bigint' ? value.toString() : value;
  }
  return out;
}

export interface JsonLoggerOptions {
  /** `service` field of every line (`gateway`, `facilitator`, `realtime`, `agent`). */
  service: string;
  /** Where a line goes (default: stdout). */
  write?: (line: string) => void;
  now?: () => Date;
}

/**
 * @example
 * const logger = createJsonLogger({ service: 'gateway' });
 * logger.info('settled', { request_id, transaction }); // {"time":...,"level":"info","service":"gateway","event":"settled",...}
 */
export function createJsonLogger(options: JsonLoggerOptions): Logger {
  const write = options.write ?? ((line: string) => process.stdout.write(`${line}\n`));
  const now = options.now ?? (() => new Date());
  const { service } = options;
  const log =
    (level: LogLevel) =>
    (event: string, fields: Record<string, unknown> = {}) =>
      write(JSON.stringify({ time: now().toISOString(), level, service, event, ...scrubLogFields(fields) }));
  return { info: log('info'), warn: log('warn'), error: log('error') };
}

/** A logger that keeps its lines (and their parsed records) in memory: tests assert on them. */
export function createMemoryLogger(
  options: { service?: string } = {},
): Logger & { readonly lines: string[]; readonly records: Array<Record<string, unknown>> } {
  const lines: string[] = [];
  const records: Array<Record<string, unknown>> = [];
  const logger = createJsonLogger({
    service: options.service ?? 'test',
    write: (line) => {
      lines.push(line);
      records.push(JSON.parse(line) as Record<string, unknown>);
    },
  });
  return { lines, records, ...logger };
}

export const silentLogger: Logger = { info() {}, warn() {}, error() {} };

/**
 * The agent's entry-style log function (`log({ event, level?, ...fields })`) over a Logger.
 *
 * @example
 * const log = logEntriesTo(createJsonLogger({ service: 'agent' }));
 * log({ event: 'turn_completed', session_id });
 */
export function logEntriesTo(logger: Logger): (entry: Record<string, unknown>) => void {
  return (entry) => {
    const { event, level, ...fields } = entry;
    const method: LogLevel = level === 'warn' || level === 'error' ? level : 'info';
    logger[method](typeof event === 'string' ? event : 'log', fields);
  };
}
