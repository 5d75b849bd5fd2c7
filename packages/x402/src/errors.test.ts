import { describe, expect, it } from 'vitest';
import { AppError, isAppError, X402_ERROR_CODES } from './errors.ts';

describe('AppError', () => {
  it('carries code, status, cause and details', () => {
    const cause = new Error('rpc down');
    const error = new AppError('settle_failed', 'settlement failed', {
      httpStatus: 502,
      cause,
      details: { attempt: 1 },
    });
    expect(error).toBeInstanceOf(Error);
    expect(error.name).toBe('AppError');
    expect(error.code).toBe('settle_failed');
    expect(error.httpStatus).toBe(502);
    expect(error.cause).toBe(cause);
    expect(error.details).toStrictEqual({ attempt: 1 });
    expect(error.stack).toContain('settlement failed');
  });

  it('defaults to 400 and serialises without the cause', () => {
    const error = new AppError('invalid_amount', 'bad amount', { cause: new Error('secret 0xdeadbeef') });
    expect(error.httpStatus).toBe(400);
    expect(JSON.parse(JSON.stringify(error))).toStrictEqual({
      error: 'invalid_amount',
      message: 'bad amount',
    });
  });
});

describe('isAppError', () => {
  it('recognises AppErrors, including ones from another copy of the module', () => {
    expect(isAppError(new AppError('x', 'y'))).toBe(true);
    const foreign = Object.assign(new Error('y'), { name: 'AppError', code: 'x', httpStatus: 400 });
    expect(isAppError(foreign)).toBe(true);
  });

  it('rejects everything else', () => {
    expect(isAppError(new Error('x'))).toBe(false);
    expect(isAppError({ name: 'AppError', code: 'x', httpStatus: 400, message: 'y' })).toBe(false);
    expect(isAppError(Object.assign(new Error('y'), { name: 'AppError', code: 1, httpStatus: 400 }))).toBe(
      false,
    );
    expect(isAppError(undefined)).toBe(false);
  });
});

describe('X402_ERROR_CODES', () => {
  it('are unique snake_case strings', () => {
    const codes = Object.values(X402_ERROR_CODES);
    expect(new Set(codes).size).toBe(codes.length);
    for (const code of codes) expect(code).toMatch(/^[a-z][a-z0-9]*(_[a-z0-9]+)*$/);
  });
});
