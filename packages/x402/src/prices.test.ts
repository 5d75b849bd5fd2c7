import { describe, expect, it } from 'vitest';
import { AppError } from './errors.ts';
import { formatUsdc } from './money.ts';
import {
  DEFAULT_IMAGE_QUALITY,
  DEFAULT_IMAGE_SIZE,
  IMAGE_PRICES,
  IMAGE_QUALITIES,
  IMAGE_SIZES,
  priceForImage,
} from './prices.ts';

describe('priceForImage', () => {
  it('matches the Nova Canvas price table', () => {
    expect(priceForImage({ size: '1024x1024', quality: 'standard' })).toBe(40_000n);
    expect(priceForImage({ size: '1024x1024', quality: 'premium' })).toBe(60_000n);
    expect(priceForImage({ size: '2048x2048', quality: 'standard' })).toBe(60_000n);
    expect(priceForImage({ size: '2048x2048', quality: 'premium' })).toBe(80_000n);
  });

  it('defaults to 1024x1024 standard ($0.04)', () => {
    expect(DEFAULT_IMAGE_SIZE).toBe('1024x1024');
    expect(DEFAULT_IMAGE_QUALITY).toBe('standard');
    expect(priceForImage()).toBe(40_000n);
    expect(priceForImage({ quality: 'premium' })).toBe(60_000n);
    expect(priceForImage({ size: '2048x2048', quality: undefined })).toBe(60_000n);
  });

  it('prices every size and quality in dollars as the design card states', () => {
    const table = Object.fromEntries(
      IMAGE_SIZES.options.flatMap((size) =>
        IMAGE_QUALITIES.options.map((quality) => [
          `${size}/${quality}`,
          formatUsdc(IMAGE_PRICES[size][quality]),
        ]),
      ),
    );
    expect(table).toStrictEqual({
      '1024x1024/standard': '0.04',
      '1024x1024/premium': '0.06',
      '2048x2048/standard': '0.06',
      '2048x2048/premium': '0.08',
    });
  });

  describe('when the size is unknown', () => {
    it('throws invalid_image_size', () => {
      expect(() => priceForImage({ size: '512x512' })).toThrow(
        expect.objectContaining({ code: 'invalid_image_size', httpStatus: 400 }),
      );
    });
  });

  describe('when the quality is unknown', () => {
    it('throws invalid_image_quality', () => {
      expect(() => priceForImage({ quality: 'ultra' })).toThrow(AppError);
      expect(() => priceForImage({ quality: 'ultra' })).toThrow(
        expect.objectContaining({ code: 'invalid_image_quality' }),
      );
    });
  });

  it('keeps the table immutable', () => {
    expect(Object.isFrozen(IMAGE_PRICES)).toBe(true);
    expect(Object.isFrozen(IMAGE_PRICES['1024x1024'])).toBe(true);
  });
});
