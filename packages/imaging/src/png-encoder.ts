import { crc32, deflateSync } from 'node:zlib';

const SIGNATURE = Uint8Array.of(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a);

export interface EncodePngOptions {
  /** tEXt chunks (keyword → Latin-1 text); keywords are 1..79 printable Latin-1 characters. */
  text?: Record<string, string>;
  /** zlib level; 1 is the default because speed matters more than a few percent of size here. */
  level?: number;
}

/**
 * Encodes 8-bit RGB pixels (row-major, 3 bytes per pixel) as a PNG (colour type 2, no interlace).
 * Each scanline uses the Sub filter (PNG spec §9.2), which turns the smooth horizontal runs the
 * procedural generator draws into zeros and keeps level-1 deflate both fast and small.
 */
export function encodePng(width: number, height: number, rgb: Uint8Array, options: EncodePngOptions = {}) {
  if (rgb.length !== width * height * 3) {
    throw new RangeError(`expected ${width * height * 3} bytes of RGB, got ${rgb.length}`);
  }
  const stride = width * 3;
  const raw = new Uint8Array(height * (stride + 1));
  for (let y = 0; y < height; y++) {
    const src = y * stride;
    const dst = y * (stride + 1);
    raw[dst] = 1; // filter type Sub
    raw[dst + 1] = rgb[src] as number;
    raw[dst + 2] = rgb[src + 1] as number;
    raw[dst + 3] = rgb[src + 2] as number;
    for (let i = 3; i < stride; i++) {
      raw[dst + 1 + i] = ((rgb[src + i] as number) - (rgb[src + i - 3] as number)) & 0xff;
    }
  }
  const idat = deflateSync(raw, { level: options.level ?? 1 });

  const ihdr = new Uint8Array(13);
  const view = new DataView(ihdr.buffer);
  view.setUint32(0, width);
  view.setUint32(4, height);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // colour type: truecolour
  // compression 0, filter method 0, interlace 0

  const chunks: Uint8Array[] = [SIGNATURE, chunk('IHDR', ihdr)];
  for (const [keyword, value] of Object.entries(options.text ?? {})) {
    chunks.push(chunk('tEXt', textChunkData(keyword, value)));
  }
  chunks.push(chunk('IDAT', idat), chunk('IEND', new Uint8Array(0)));
  return new Uint8Array(Buffer.concat(chunks));
}

function textChunkData(keyword: string, value: string): Uint8Array {
  if (!/^[\x20-\x7e\xa1-\xff]{1,79}$/.test(keyword) || /^ | $| {2}/.test(keyword)) {
    throw new RangeError(`invalid PNG tEXt keyword: ${JSON.stringify(keyword)}`);
  }
  if (/[^\n\x20-\x7e\xa0-\xff]/.test(value)) {
    throw new RangeError(`PNG tEXt value for ${keyword} must be printable Latin-1`);
  }
  return Buffer.from(`${keyword}\0${value}`, 'latin1');
}

function chunk(type: string, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, data.length);
  out.set(Buffer.from(type, 'latin1'), 4);
  out.set(data, 8);
  view.setUint32(8 + data.length, crc32(out.subarray(4, 8 + data.length)));
  return out;
}

/** Reads the tEXt chunks of a PNG (for tests and tools; stops at IDAT-free files' IEND). */
export function readPngText(png: Uint8Array): Record<string, string> {
  const out: Record<string, string> = {};
  const view = new DataView(png.buffer, png.byteOffset, png.byteLength);
  let offset = SIGNATURE.length;
  while (offset + 8 <= png.length) {
    const length = view.getUint32(offset);
    const type = Buffer.from(png.subarray(offset + 4, offset + 8)).toString('latin1');
    if (type === 'tEXt') {
      const data = Buffer.from(png.subarray(offset + 8, offset + 8 + length)).toString('latin1');
      const sep = data.indexOf('\0');
      if (sep > 0) out[data.slice(0, sep)] = data.slice(sep + 1);
    }
    if (type === 'IEND') break;
    offset += 12 + length;
  }
  return out;
}
