import { describe, expect, it } from 'vitest';
import { AppError, findAppError, findError, isAppError, walkErrors, X402_ERROR_CODES } from './errors.ts';

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

class RefusedError extends AppError<'limit_hit' | 'not_allowed'> {
  override name = 'RefusedError';
}

describe('walkErrors', () => {
  const inner = new RefusedError('limit_hit', 'over the cap');
  const middle = new Error('Failed to create payment payload', { cause: inner });
  const outer = new TypeError('fetch failed', { cause: middle });

  it('returns the first error in the cause chain that matches', () => {
    expect(walkErrors(outer, (e) => e instanceof RefusedError)).toBe(inner);
    expect(walkErrors(outer, (e) => e instanceof Error)).toBe(outer);
    expect(walkErrors(outer, (e) => e === 'nothing')).toBeUndefined();
  });

  it('returns the deepest error without a predicate, as viem BaseError.walk()', () => {
    expect(walkErrors(outer)).toBe(inner);
    expect(walkErrors('a string')).toBe('a string');
    expect(outer instanceof Error && new AppError('x', 'y', { cause: outer }).walk()).toBe(inner);
  });

  it('stops on a cycle', () => {
    const a = new Error('a');
    const b = new Error('b', { cause: a });
    a.cause = b;
    expect(walkErrors(a, (e) => e === 'never')).toBeUndefined();
    expect([a, b]).toContain(walkErrors(a));
  });

  it('follows causes that are not Errors only as the last link', () => {
    expect(
      walkErrors(
        new Error('x', { cause: { code: 'ECONNREFUSED' } }),
        (e) => (e as { code?: string }).code === 'ECONNREFUSED',
      ),
    ).toStrictEqual({ code: 'ECONNREFUSED' });
  });
});

describe('findError / findAppError', () => {
  const wrapped = new Error('outer', { cause: new RefusedError('not_allowed', 'no') });

  it('finds by class, typed', () => {
    const found = findError(wrapped, RefusedError);
    expect(found?.code).toBe('not_allowed');
    expect(findError(new Error('plain'), RefusedError)).toBeUndefined();
  });

  it('finds an AppError by code', () => {
    expect(findAppError(wrapped)?.code).toBe('not_allowed');
    expect(findAppError(wrapped, ['not_allowed'])?.message).toBe('no');
    expect(findAppError(wrapped, ['limit_hit'])).toBeUndefined();
  });

  it('keeps the subclass name and still counts as an AppError', () => {
    const error = new RefusedError('limit_hit', 'x');
    expect(error.name).toBe('RefusedError');
    expect(isAppError(error)).toBe(true);
    expect(error.toJSON()).toStrictEqual({ error: 'limit_hit', message: 'x' });
  });
});
