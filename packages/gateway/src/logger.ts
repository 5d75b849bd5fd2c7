/** Structured JSON logs, one object per line. Callers pass curated fields only (never headers). */
export interface Logger {
  info(event: string, fields?: Record<string, unknown>): void;
  warn(event: string, fields?: Record<string, unknown>): void;
  error(event: string, fields?: Record<string, unknown>): void;
}

/** Keys whose values are never written, whatever a caller passes. */
const SECRET_KEY = /secret|private|signature|authorization|password|token|key$/i;

function scrub(fields: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(fields)) {
    if (SECRET_KEY.test(key)) continue;
    out[key] = typeof value === 'bigint' ? value.toString() : value;
  }
  return out;
}

export function createJsonLogger(options: { service?: string; write?: (line: string) => void } = {}): Logger {
  const write = options.write ?? ((line: string) => process.stdout.write(`${line}\n`));
  const service = options.service ?? 'gateway';
  const log =
    (level: string) =>
    (event: string, fields: Record<string, unknown> = {}) =>
      write(JSON.stringify({ time: new Date().toISOString(), level, service, event, ...scrub(fields) }));
  return { info: log('info'), warn: log('warn'), error: log('error') };
}

/** A logger that keeps lines in memory (tests assert on them). */
export function createMemoryLogger(): Logger & { readonly lines: string[] } {
  const lines: string[] = [];
  return { lines, ...createJsonLogger({ write: (line) => lines.push(line) }) };
}
