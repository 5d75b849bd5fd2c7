import type { DecodedImage } from './image-statistics.ts';
import { encodePng } from './png-encoder.ts';

/**
 * Claude on Bedrock takes images of at most 3.75 MB and 8000 px a side and downsizes anything over
 * ~1568 px on the long edge anyway, so a large PNG (a 2048x2048 Nova image is often 4-6 MB) is
 * sent as a box-filtered copy of at most `maxSide` pixels instead.
 * https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_ImageBlock.html
 */
export const VISION_LIMITS = { maxBytes: 3_750_000, maxSide: 1568, downscaleTo: 1024 } as const;

export function imageForVision(png: Uint8Array, decoded: DecodedImage): Uint8Array {
  const { width, height } = decoded;
  if (png.length <= VISION_LIMITS.maxBytes && Math.max(width, height) <= VISION_LIMITS.maxSide) return png;
  const scale = VISION_LIMITS.downscaleTo / Math.max(width, height);
  const w = Math.max(1, Math.round(width * scale));
  const h = Math.max(1, Math.round(height * scale));
  const out = new Uint8Array(w * h * 3);
  const { rgba } = decoded;
  for (let y = 0; y < h; y++) {
    const y0 = Math.floor((y * height) / h);
    const y1 = Math.max(y0 + 1, Math.floor(((y + 1) * height) / h));
    for (let x = 0; x < w; x++) {
      const x0 = Math.floor((x * width) / w);
      const x1 = Math.max(x0 + 1, Math.floor(((x + 1) * width) / w));
      let r = 0;
      let g = 0;
      let b = 0;
      for (let sy = y0; sy < y1; sy++) {
        for (let sx = x0, i = (sy * width + x0) * 4; sx < x1; sx++, i += 4) {
          // Composite over white, as the statistics do.
          const a = (rgba[i + 3] as number) / 255;
          r += (rgba[i] as number) * a + 255 * (1 - a);
          g += (rgba[i + 1] as number) * a + 255 * (1 - a);
          b += (rgba[i + 2] as number) * a + 255 * (1 - a);
        }
      }
      const count = (y1 - y0) * (x1 - x0);
      const o = (y * w + x) * 3;
      out[o] = r / count;
      out[o + 1] = g / count;
      out[o + 2] = b / count;
    }
  }
  return encodePng(w, h, out, { level: 6 });
}
