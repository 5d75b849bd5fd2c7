import { AppError, IMAGE_SIZES, isAppError } from '@agentic-payments/x402';
import { describe, expect, it } from 'vitest';
import { ImagingError, isImagingError } from './imaging-error.ts';
import { dimensionsOf } from './types.ts';

describe('ImagingError', () => {
  it('is an AppError carrying the status of its code, and never serialises its cause', () => {
    const err = new ImagingError('content_filtered', 'blocked by content filters', {
      cause: new Error('secret detail'),
    });
    expect(err).toBeInstanceOf(AppError);
    expect(isAppError(err)).toBe(true);
    expect(isImagingError(err)).toBe(true);
    expect([err.code, err.httpStatus]).toStrictEqual(['content_filtered', 422]);
    expect(err.toJSON()).toStrictEqual({ error: 'content_filtered', message: 'blocked by content filters' });
    expect(JSON.stringify(err)).not.toContain('secret');
  });
});

describe('dimensionsOf', () => {
  it('reads width and height of every product size', () => {
    expect(IMAGE_SIZES.options.map(dimensionsOf)).toStrictEqual([
      { width: 1024, height: 1024 },
      { width: 2048, height: 2048 },
    ]);
  });
});
