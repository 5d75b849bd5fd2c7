import { PNG } from 'pngjs';
import { ImagingError } from './imaging-error.ts';
import type { Composition, CompositionLayout, DominantColor } from './types.ts';

/** Largest input we decode: 64 MiB of PNG, 16.8 megapixels (4096x4096) — guards against decompression bombs. */
export const ANALYSIS_LIMITS = {
  maxBytes: 64 * 1024 * 1024,
  maxPixels: 4096 * 4096,
  samples: 65_536,
} as const;

export interface DecodedImage {
  width: number;
  height: number;
  /** RGBA, 4 bytes per pixel, as pngjs returns it. */
  rgba: Uint8Array;
}

export interface ImageStatistics {
  width: number;
  height: number;
  dominantColors: DominantColor[];
  brightness: number;
  contrast: number;
  colorfulness: number;
  composition: Omit<Composition, 'description'>;
}

const PNG_SIGNATURE = Buffer.from('89504e470d0a1a0a', 'hex');

/** Decodes a PNG after checking its signature and declared size; a bad one is `invalid_image` (400). */
export function decodePng(png: Uint8Array): DecodedImage {
  const buf = Buffer.from(png.buffer, png.byteOffset, png.byteLength);
  if (
    buf.length < 33 ||
    !buf.subarray(0, 8).equals(PNG_SIGNATURE) ||
    buf.toString('latin1', 12, 16) !== 'IHDR'
  ) {
    throw new ImagingError('invalid_image', 'the image is not a PNG');
  }
  const width = buf.readUInt32BE(16);
  const height = buf.readUInt32BE(20);
  if (
    buf.length > ANALYSIS_LIMITS.maxBytes ||
    width === 0 ||
    height === 0 ||
    width * height > ANALYSIS_LIMITS.maxPixels
  ) {
    throw new ImagingError(
      'invalid_image',
      `the image is too large to analyze (${width}x${height}, ${buf.length} bytes; limit ${ANALYSIS_LIMITS.maxPixels} pixels)`,
    );
  }
  try {
    const decoded = PNG.sync.read(buf);
    return { width: decoded.width, height: decoded.height, rgba: decoded.data };
  } catch (err) {
    throw new ImagingError('invalid_image', 'the PNG could not be decoded', { cause: err });
  }
}

/**
 * Measures an image from a regular grid of about 65k samples: mean luma (Rec. 709), its standard
 * deviation, Hasler–Süsstrunk colourfulness, quantised dominant colours and where the visual
 * weight (distance from the mean luma plus saturation) sits. Transparent pixels are composited
 * over white, as a page would show them.
 */
export function measureImage(image: DecodedImage): ImageStatistics {
  const { width, height, rgba } = image;
  const step = Math.max(1, Math.floor(Math.sqrt((width * height) / ANALYSIS_LIMITS.samples)));
  const cols = Math.ceil(width / step);
  const rows = Math.ceil(height / step);
  const n = cols * rows;
  const luma = new Float32Array(n);
  const rgb = new Float32Array(n * 3);
  const buckets = new Map<number, { count: number; r: number; g: number; b: number }>();
  let sumY = 0;
  let sumY2 = 0;
  let sumRg = 0;
  let sumRg2 = 0;
  let sumYb = 0;
  let sumYb2 = 0;

  let k = 0;
  for (let y = 0; y < height; y += step) {
    for (let x = 0; x < width; x += step, k++) {
      const i = (y * width + x) * 4;
      const a = (rgba[i + 3] as number) / 255;
      const r = (rgba[i] as number) * a + 255 * (1 - a);
      const g = (rgba[i + 1] as number) * a + 255 * (1 - a);
      const b = (rgba[i + 2] as number) * a + 255 * (1 - a);
      const lum = (0.2126 * r + 0.7152 * g + 0.0722 * b) / 255;
      luma[k] = lum;
      rgb[k * 3] = r;
      rgb[k * 3 + 1] = g;
      rgb[k * 3 + 2] = b;
      sumY += lum;
      sumY2 += lum * lum;
      const rg = r - g;
      const yb = 0.5 * (r + g) - b;
      sumRg += rg;
      sumRg2 += rg * rg;
      sumYb += yb;
      sumYb2 += yb * yb;
      const key = ((r >> 5) << 6) | ((g >> 5) << 3) | (b >> 5);
      const bucket = buckets.get(key);
      if (bucket === undefined) buckets.set(key, { count: 1, r, g, b });
      else {
        bucket.count++;
        bucket.r += r;
        bucket.g += g;
        bucket.b += b;
      }
    }
  }

  const brightness = sumY / n;
  const contrast = Math.sqrt(Math.max(0, sumY2 / n - brightness * brightness));
  const meanRg = sumRg / n;
  const meanYb = sumYb / n;
  const sdRg = Math.sqrt(Math.max(0, sumRg2 / n - meanRg * meanRg));
  const sdYb = Math.sqrt(Math.max(0, sumYb2 / n - meanYb * meanYb));
  // Hasler & Süsstrunk (2003): 0 greyscale, 33 "moderately", 59 "quite", 109 "extremely" colourful;
  // scaled so 110 → 1.
  const hs = Math.hypot(sdRg, sdYb) + 0.3 * Math.hypot(meanRg, meanYb);
  const colorfulness = Math.min(1, hs / 110);

  // Buckets of 32 levels per channel, merged by colour name so near-identical shades do not crowd
  // out the other colours; each name keeps the hex of its most frequent bucket.
  const byName = new Map<string, DominantColor>();
  for (const bucket of [...buckets.values()].sort((p, q) => q.count - p.count)) {
    const rgb: [number, number, number] = [
      bucket.r / bucket.count,
      bucket.g / bucket.count,
      bucket.b / bucket.count,
    ];
    const name = colorName(rgb);
    const known = byName.get(name);
    if (known === undefined) byName.set(name, { hex: toHex(rgb), name, share: bucket.count / n });
    else known.share += bucket.count / n;
  }
  const dominantColors = [...byName.values()]
    .sort((p, q) => q.share - p.share)
    .slice(0, 5)
    .filter((c, index) => index === 0 || c.share >= 0.01)
    .map((c) => ({ ...c, share: round(c.share) }));

  return {
    width,
    height,
    dominantColors,
    brightness: round(brightness),
    contrast: round(contrast),
    colorfulness: round(colorfulness),
    composition: measureComposition(luma, rgb, cols, rows),
  };
}

/**
 * Visual weight of a sample = squared colour distance from the image's mean colour: what stands
 * out from the background pulls the centre of mass towards itself.
 */
function measureComposition(
  luma: Float32Array,
  rgb: Float32Array,
  cols: number,
  rows: number,
): Omit<Composition, 'description'> {
  const n = cols * rows;
  let mr = 0;
  let mg = 0;
  let mb = 0;
  for (let i = 0; i < n; i++) {
    mr += rgb[i * 3] as number;
    mg += rgb[i * 3 + 1] as number;
    mb += rgb[i * 3 + 2] as number;
  }
  mr /= n;
  mg /= n;
  mb /= n;
  let total = 0;
  let sx = 0;
  let sy = 0;
  let mirror = 0;
  let edges = 0;
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      const i = r * cols + c;
      const l = luma[i] as number;
      const dr = ((rgb[i * 3] as number) - mr) / 255;
      const dg = ((rgb[i * 3 + 1] as number) - mg) / 255;
      const db = ((rgb[i * 3 + 2] as number) - mb) / 255;
      const w = dr * dr + dg * dg + db * db;
      total += w;
      sx += w * ((c + 0.5) / cols);
      sy += w * ((r + 0.5) / rows);
      mirror += Math.abs(l - (luma[r * cols + (cols - 1 - c)] as number));
      if (c + 1 < cols) edges += Math.abs(l - (luma[i + 1] as number));
      if (r + 1 < rows) edges += Math.abs(l - (luma[i + cols] as number));
    }
  }
  // A flat image has no visual weight anywhere: call its centre the middle.
  const x = total > 1e-6 ? sx / total : 0.5;
  const y = total > 1e-6 ? sy / total : 0.5;
  const thirdPoints = [
    [1 / 3, 1 / 3],
    [2 / 3, 1 / 3],
    [1 / 3, 2 / 3],
    [2 / 3, 2 / 3],
  ] as const;
  const nearestThird = Math.min(...thirdPoints.map(([tx, ty]) => Math.hypot(x - tx, y - ty)));
  // 0.2357 is the distance from the centre to a thirds intersection.
  const thirdsAlignment = Math.max(0, 1 - nearestThird / 0.2357);
  const fromCentre = Math.hypot(x - 0.5, y - 0.5);
  const layout: CompositionLayout =
    fromCentre < 0.05
      ? 'centered'
      : thirdsAlignment >= 0.6
        ? 'rule_of_thirds'
        : fromCentre < 0.12
          ? 'balanced'
          : 'off_center';
  return {
    centerOfMass: { x: round(x), y: round(y) },
    thirdsAlignment: round(thirdsAlignment),
    symmetry: round(Math.max(0, 1 - (2 * mirror) / n)),
    detail: round(Math.min(1, (4 * edges) / Math.max(1, 2 * n - cols - rows))),
    layout,
  };
}

function round(v: number): number {
  return Math.round(v * 1000) / 1000;
}

function toHex([r, g, b]: readonly [number, number, number]): string {
  return `#${[r, g, b].map((v) => Math.round(v).toString(16).padStart(2, '0')).join('')}`;
}

/** A plain name for a colour from its hue, saturation and lightness. */
export function colorName([r, g, b]: readonly [number, number, number]): string {
  const max = Math.max(r, g, b) / 255;
  const min = Math.min(r, g, b) / 255;
  const l = (max + min) / 2;
  const d = max - min;
  const s = d === 0 ? 0 : d / (1 - Math.abs(2 * l - 1));
  if (l < 0.1) return 'black';
  if (l > 0.93) return 'white';
  if (s < 0.15) return l < 0.35 ? 'dark grey' : l > 0.7 ? 'light grey' : 'grey';
  const rn = r / 255;
  const gn = g / 255;
  const bn = b / 255;
  let h: number;
  if (max === rn) h = ((gn - bn) / d) % 6;
  else if (max === gn) h = (bn - rn) / d + 2;
  else h = (rn - gn) / d + 4;
  h = (h * 60 + 360) % 360;
  let name: string;
  if ((h < 40 || h >= 345) && s < 0.3 && l < 0.55) name = 'brown';
  else if (h < 15 || h >= 345) name = 'red';
  else if (h < 40) name = l < 0.4 ? 'brown' : 'orange';
  else if (h < 50) name = l < 0.4 ? 'olive' : 'gold';
  else if (h < 70) name = l < 0.35 ? 'olive' : 'yellow';
  else if (h < 160) name = 'green';
  else if (h < 190) name = 'teal';
  else if (h < 250) name = l < 0.3 ? 'navy' : 'blue';
  else if (h < 290) name = 'purple';
  else name = 'pink';
  if (name === 'red' || name === 'orange') {
    if (l > 0.75) return name === 'red' ? 'pink' : 'beige';
  }
  return l < 0.3 && name !== 'navy' && name !== 'brown' && name !== 'olive'
    ? `dark ${name}`
    : l > 0.75
      ? `light ${name}`
      : name;
}
