import { z } from 'zod';
import { AppError, X402_ERROR_CODES } from './errors.ts';

/** Image sizes the gateway sells (Nova Canvas square outputs). */
export const IMAGE_SIZES = z.enum(['1024x1024', '2048x2048']);
export type ImageSize = z.infer<typeof IMAGE_SIZES>;

/** Nova Canvas quality levels. */
export const IMAGE_QUALITIES = z.enum(['standard', 'premium']);
export type ImageQuality = z.infer<typeof IMAGE_QUALITIES>;

export const DEFAULT_IMAGE_SIZE: ImageSize = '1024x1024';
export const DEFAULT_IMAGE_QUALITY: ImageQuality = 'standard';

/**
 * Amazon Nova Canvas on-demand prices per image, in atomic USDC (6 decimals):
 * 1024x1024 $0.04 / $0.06, 2048x2048 $0.06 / $0.08 (standard / premium).
 */
export const IMAGE_PRICES: Readonly<Record<ImageSize, Readonly<Record<ImageQuality, bigint>>>> =
  Object.freeze({
    '1024x1024': Object.freeze({ standard: 40_000n, premium: 60_000n }),
    '2048x2048': Object.freeze({ standard: 60_000n, premium: 80_000n }),
  });

export interface PriceForImageParameters {
  size?: string | undefined;
  quality?: string | undefined;
}

/**
 * The server's price of one image in atomic USDC. Missing options take the defaults
 * (1024x1024, standard); an unknown size or quality is AppError `invalid_image_size` /
 * `invalid_image_quality`.
 *
 * @example
 * priceForImage({ size: '2048x2048', quality: 'premium' }); // 80000n
 */
export function priceForImage(options: PriceForImageParameters = {}): bigint {
  const size = IMAGE_SIZES.safeParse(options.size ?? DEFAULT_IMAGE_SIZE);
  if (!size.success) {
    throw new AppError(
      X402_ERROR_CODES.invalidImageSize,
      `size must be one of ${IMAGE_SIZES.options.join(', ')}`,
    );
  }
  const quality = IMAGE_QUALITIES.safeParse(options.quality ?? DEFAULT_IMAGE_QUALITY);
  if (!quality.success) {
    throw new AppError(
      X402_ERROR_CODES.invalidImageQuality,
      `quality must be one of ${IMAGE_QUALITIES.options.join(', ')}`,
    );
  }
  return IMAGE_PRICES[size.data][quality.data];
}
