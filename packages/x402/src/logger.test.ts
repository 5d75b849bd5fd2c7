import { describe, expect, it } from 'vitest';
import { createJsonLogger, createMemoryLogger, logEntriesTo, scrubLogFields } from './logger.ts';

describe('createJsonLogger', () => {
  it('writes one JSON object per line: time, level, service, event, then the fields', () => {
    const lines: string[] = [];
    const logger = createJsonLogger({
      service: 'gateway',
      write: (line) => lines.push(line),
      now: () => new Date('2026-01-01T00:00:00Z'),
    });
    logger.warn('settle_retry', { request_id: 'r1', attempt: 2, amount: 40_000n });
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0] ?? '')).toStrictEqual({
      time: '2026-01-01T00:00:00.000Z',
      level: 'warn',
      service: 'gateway',
      event: 'settle_retry',
      request_id: 'r1',
      attempt: 2,
      amount: '40000',
    });
  });

  it('never writes values under secret-looking keys', () => {
    const logger = createMemoryLogger();
    logger.error('oops', {
      signature: '0xdeadbeef',
      authorization: 'Bearer abc',
      privateKey: '0x59c6',
      api_key: 'k',
      CDP_API_KEY_SECRET: 's',
      password: 'p',
      session_token: 't',
      request_id: 'kept',
    });
    expect(logger.lines.join('\n')).not.toMatch(/deadbeef|Bearer|0x59c6|"k"|"s"|"p"|"t"/);
    expect(logger.records[0]).toMatchObject({ event: 'oops', request_id: 'kept' });
  });
});

describe('scrubLogFields', () => {
  it('drops secret keys and stringifies bigints, keeping everything else', () => {
    expect(scrubLogFields({ wallet_secret: 'x', value: 1n, payer: '0xabc', ok: true })).toStrictEqual({
      value: '1',
      payer: '0xabc',
      ok: true,
    });
  });
});

describe('logEntriesTo', () => {
  it("maps the agent's { event, level, ...fields } entries onto a logger", () => {
    const logger = createMemoryLogger({ service: 'agent' });
    const log = logEntriesTo(logger);
    log({ event: 'turn_completed', session_id: 's1' });
    log({ level: 'error', event: 'unhandled_error', error: 'boom', signature: '0x1' });
    expect(logger.records.map(({ time: _time, ...rest }) => rest)).toStrictEqual([
      { level: 'info', service: 'agent', event: 'turn_completed', session_id: 's1' },
      { level: 'error', service: 'agent', event: 'unhandled_error', error: 'boom' },
    ]);
  });
});
