import { createHash } from 'node:crypto';
// Only the limits and a type: the render worker loads this module and should not load zod or x402.
import { IMAGE_LIMITS } from './image-limits.ts';
import { encodePng } from './png-encoder.ts';
import { mulberry32, planScene, Raster, renderScene } from './procedural-scene.ts';
import type { GenerateImageRequest } from './types.ts';

export const LOCAL_GENERATOR_SOFTWARE = 'agentic-payments local procedural generator (not an AI model)';

export interface LocalRender {
  readonly png: Uint8Array;
  readonly seed: number;
  readonly scene: string;
  readonly promptSha256: string;
}

/**
 * The local procedural generator's pure work (no I/O, no shared state): plan a scene from the
 * prompt's keywords and a hash of prompt and seed, draw it, encode the PNG. Runs on the caller's
 * thread or in a render worker (see `local-render-pool.ts`); the bytes are the same either way.
 */
export function renderLocalImage(request: GenerateImageRequest): LocalRender {
  const promptSha256 = createHash('sha256').update(request.prompt, 'utf8').digest('hex');
  // Without a seed the picture is still a pure function of the prompt.
  const seed = request.seed ?? Number.parseInt(promptSha256.slice(0, 8), 16) % (IMAGE_LIMITS.maxSeed + 1);
  const stream = createHash('sha256').update(`${promptSha256}:${seed}`).digest();
  const rand = mulberry32(stream.readUInt32BE(0));
  const spec = planScene(request.prompt, rand);
  const raster = new Raster(request.width, request.height);
  renderScene(raster, spec, rand);
  const scene = spec.abstract ? 'abstract' : [spec.time, ...spec.elements].join('+');
  const png = encodePng(request.width, request.height, raster.data, {
    text: {
      Software: LOCAL_GENERATOR_SOFTWARE,
      'Prompt-SHA256': promptSha256,
      Seed: String(seed),
      Scene: scene,
    },
  });
  return { png, seed, scene, promptSha256 };
}
