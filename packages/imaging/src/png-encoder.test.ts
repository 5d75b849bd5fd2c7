import { randomBytes } from 'node:crypto';
import { PNG } from 'pngjs';
import { describe, expect, it } from 'vitest';
import { encodePng, readPngText } from './png-encoder.ts';

describe('encodePng', () => {
  it('round-trips arbitrary RGB pixels exactly through an independent decoder', () => {
    const width = 37;
    const height = 23;
    const rgb = new Uint8Array(randomBytes(width * height * 3));
    const decoded = PNG.sync.read(Buffer.from(encodePng(width, height, rgb, { level: 9 })));
    expect([decoded.width, decoded.height]).toStrictEqual([width, height]);
    const back = new Uint8Array(width * height * 3);
    for (let p = 0; p < width * height; p++) {
      back[p * 3] = decoded.data[p * 4] as number;
      back[p * 3 + 1] = decoded.data[p * 4 + 1] as number;
      back[p * 3 + 2] = decoded.data[p * 4 + 2] as number;
      expect(decoded.data[p * 4 + 3]).toBe(255);
    }
    expect(Buffer.from(back).equals(Buffer.from(rgb))).toBe(true);
  });

  it('writes tEXt chunks that readPngText reads back', () => {
    const png = encodePng(1, 1, new Uint8Array(3), {
      text: { Software: 'x y z', 'Prompt-SHA256': 'ab'.repeat(32) },
    });
    expect(readPngText(png)).toStrictEqual({ Software: 'x y z', 'Prompt-SHA256': 'ab'.repeat(32) });
  });

  it.each([
    ['an empty keyword', { '': 'v' }],
    ['a keyword over 79 characters', { ['k'.repeat(80)]: 'v' }],
    ['a keyword with a leading space', { ' key': 'v' }],
    ['a value outside Latin-1', { key: 'snow ☃' }],
  ])('refuses %s', (_name, text) => {
    expect(() => encodePng(1, 1, new Uint8Array(3), { text })).toThrow(RangeError);
  });

  it('refuses a pixel buffer of the wrong length', () => {
    expect(() => encodePng(2, 2, new Uint8Array(11))).toThrow(/expected 12 bytes/);
  });
});
