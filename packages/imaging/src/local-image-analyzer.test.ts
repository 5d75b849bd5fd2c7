import { PNG } from 'pngjs';
import { describe, expect, it } from 'vitest';
import { ImagingError } from './imaging-error.ts';
import { LocalImageAnalyzer } from './local-image-analyzer.ts';
import { LocalImageGenerator } from './local-image-generator.ts';
import { encodePng } from './png-encoder.ts';

const analyzer = new LocalImageAnalyzer();
type Rgb = [number, number, number];

/** A synthetic RGB image: `paint(x, y)` gives each pixel. */
function rgbPng(width: number, height: number, paint: (x: number, y: number) => Rgb): Uint8Array {
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) data.set(paint(x, y), (y * width + x) * 3);
  }
  return encodePng(width, height, data);
}

/** The same through pngjs's own encoder, as RGBA (exercises alpha and another writer). */
function rgbaPng(
  width: number,
  height: number,
  paint: (x: number, y: number) => [number, number, number, number],
) {
  const png = new PNG({ width, height });
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) png.data.set(paint(x, y), (y * width + x) * 4);
  }
  return new Uint8Array(PNG.sync.write(png));
}

async function rejection(p: Promise<unknown>): Promise<ImagingError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ImagingError);
  return err as ImagingError;
}

describe('LocalImageAnalyzer', () => {
  it('measures an all-black image as brightness 0, no contrast, no colour', async () => {
    const a = await analyzer.analyze({ png: rgbPng(64, 64, () => [0, 0, 0]) });
    expect({ brightness: a.brightness, contrast: a.contrast, colorfulness: a.colorfulness }).toStrictEqual({
      brightness: 0,
      contrast: 0,
      colorfulness: 0,
    });
    expect(a.dominantColors).toStrictEqual([{ hex: '#000000', name: 'black', share: 1 }]);
    expect(a.composition.layout).toBe('centered');
    expect(a.composition.symmetry).toBe(1);
    expect(a.composition.detail).toBe(0);
  });

  it('measures an all-white image as brightness 1', async () => {
    const a = await analyzer.analyze({ png: rgbPng(64, 64, () => [255, 255, 255]) });
    expect([a.brightness, a.contrast]).toStrictEqual([1, 0]);
    expect(a.dominantColors[0]?.name).toBe('white');
  });

  it('measures half black, half white as mid brightness, maximal contrast and no mirror symmetry', async () => {
    const a = await analyzer.analyze({ png: rgbPng(64, 64, (x) => (x < 32 ? [0, 0, 0] : [255, 255, 255])) });
    expect(a.brightness).toBeCloseTo(0.5, 2);
    expect(a.contrast).toBeCloseTo(0.5, 2);
    expect(a.composition.symmetry).toBe(0);
    expect(a.dominantColors.map((c) => [c.name, c.share])).toStrictEqual([
      ['black', 0.5],
      ['white', 0.5],
    ]);
  });

  it('finds pure red colourful and names it', async () => {
    const a = await analyzer.analyze({ png: rgbPng(32, 32, () => [230, 20, 20]) });
    expect(a.colorfulness).toBeGreaterThan(0.5);
    expect(a.dominantColors[0]).toStrictEqual({ hex: '#e61414', name: 'red', share: 1 });
  });

  it('finds a grey gradient colourless but contrasted', async () => {
    const a = await analyzer.analyze({ png: rgbPng(256, 64, (x) => [x, x, x]) });
    expect(a.colorfulness).toBe(0);
    expect(a.contrast).toBeGreaterThan(0.25);
    expect(a.brightness).toBeCloseTo(0.5, 1);
  });

  it('places a bright subject on a thirds intersection as rule_of_thirds', async () => {
    const spot = (cx: number, cy: number) => (x: number, y: number) =>
      (Math.hypot(x - cx, y - cy) < 8 ? [255, 240, 200] : [10, 10, 30]) as Rgb;
    const thirds = await analyzer.analyze({ png: rgbPng(192, 192, spot(64, 64)) });
    expect(thirds.composition.layout).toBe('rule_of_thirds');
    expect(thirds.composition.centerOfMass.x).toBeCloseTo(1 / 3, 1);
    expect(thirds.composition.centerOfMass.y).toBeCloseTo(1 / 3, 1);
    const centred = await analyzer.analyze({ png: rgbPng(192, 192, spot(96, 96)) });
    expect(centred.composition.layout).toBe('centered');
    const off = await analyzer.analyze({ png: rgbPng(192, 192, spot(12, 180)) });
    expect(off.composition.layout).toBe('off_center');
  });

  it('composites transparent pixels over white', async () => {
    const a = await analyzer.analyze({ png: rgbaPng(32, 32, () => [0, 0, 0, 0]) });
    expect(a.brightness).toBe(1);
  });

  it('labels itself and fills the monetization template from the numbers and the prompt', async () => {
    const png = (
      await new LocalImageGenerator().generate({
        prompt: 'sunset over the ocean',
        width: 1024,
        height: 1024,
        quality: 'standard',
        seed: 3,
      })
    ).png;
    const a = await analyzer.analyze({ png, prompt: 'sunset over the ocean' });
    expect(analyzer.name).toBe('local-statistics');
    expect(a.analyzer).toBe('local-statistics (not an AI model)');
    expect(a.summary).toContain('not an AI model');
    expect(a.summary).toContain('1024x1024');
    expect(a.tags).toEqual(expect.arrayContaining(['sunset', 'ocean', 'square']));
    expect(a.tags).not.toContain('the');
    expect(a.suggestedUses.length).toBeGreaterThanOrEqual(2);
    expect(a.platforms[0]).toContain('after upscaling'); // 1 MP is under the usual 4 MP stock minimum
    expect(a.pricingIdeas.length).toBeGreaterThan(0);
    expect(a.composition.description.length).toBeGreaterThan(20);
    expect(a.dominantColors.length).toBeGreaterThan(1);
  });

  it('tells dark and bright generated scenes apart and says a 2048 image meets stock size', async () => {
    const generator = new LocalImageGenerator();
    const night = await generator.generate({
      prompt: 'city at night',
      width: 2048,
      height: 2048,
      quality: 'standard',
      seed: 1,
    });
    const day = await generator.generate({
      prompt: 'snowy mountains on a sunny day',
      width: 1024,
      height: 1024,
      quality: 'standard',
      seed: 1,
    });
    const cpuStart = process.cpuUsage();
    const n = await analyzer.analyze({ png: night.png });
    const used = process.cpuUsage(cpuStart);
    const ms = (used.user + used.system) / 1000; // CPU, not wall: the shared test machine is oversubscribed
    const d = await analyzer.analyze({ png: day.png });
    console.log(`local analyzer 2048x2048: ${ms.toFixed(1)} ms of CPU`);
    expect(n.brightness).toBeLessThan(0.2);
    expect(d.brightness).toBeGreaterThan(0.5);
    expect(n.tags).toContain('dark');
    expect(n.platforms[0]).toContain('4.2 MP');
    expect(ms).toBeLessThan(3_000);
  });

  describe('when the image is bad', () => {
    it.each([
      ['bytes that are not a PNG', new TextEncoder().encode('definitely not an image, just text')],
      ['an empty buffer', new Uint8Array(0)],
    ])('rejects %s with invalid_image (400)', async (_name, png) => {
      const err = await rejection(analyzer.analyze({ png }));
      expect([err.code, err.httpStatus]).toStrictEqual(['invalid_image', 400]);
    });

    it('rejects a truncated PNG with invalid_image', async () => {
      const png = rgbPng(64, 64, (x, y) => [x * 4, y * 4, 0]);
      const err = await rejection(analyzer.analyze({ png: png.subarray(0, png.length - 30) }));
      expect(err.code).toBe('invalid_image');
    });

    it('rejects a PNG that declares more pixels than the limit before inflating it', async () => {
      const png = rgbPng(64, 64, () => [1, 2, 3]);
      const view = new DataView(png.buffer, png.byteOffset);
      view.setUint32(16, 100_000);
      view.setUint32(20, 100_000);
      const err = await rejection(analyzer.analyze({ png }));
      expect(err.code).toBe('invalid_image');
      expect(err.message).toContain('too large');
    });

    it('answers analysis_timeout (504) when the signal is already aborted', async () => {
      const err = await rejection(
        analyzer.analyze({ png: rgbPng(16, 16, () => [0, 0, 0]) }, { signal: AbortSignal.abort() }),
      );
      expect([err.code, err.httpStatus]).toStrictEqual(['analysis_timeout', 504]);
    });
  });
});
