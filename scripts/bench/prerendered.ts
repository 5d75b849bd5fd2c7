/**
 * The pre-rendered image mode of the paid-request benchmark: a stand-in image generator that hands
 * back one PNG rendered once at start by the local procedural generator (not an AI model), so the
 * sellers' handlers cost the same on every side and the payment path is what is measured. Every
 * process renders the same prompt at the same size, so every side serves the same bytes.
 */
import type { GeneratedImage, ImageGenerator } from '@agentic-payments/imaging';

export const PRERENDERED_PROMPT = 'a red sunset over the ocean';

export async function prerenderedImageGenerator(): Promise<ImageGenerator> {
  const { LocalImageGenerator } = await import('@agentic-payments/imaging');
  const local = new LocalImageGenerator({ threads: 0 });
  let image: GeneratedImage;
  try {
    image = await local.generate({
      prompt: PRERENDERED_PROMPT,
      width: 1024,
      height: 1024,
      quality: 'standard',
    });
  } finally {
    await local.close();
  }
  return {
    name: `prerendered(${image.generator})`,
    generate: async () => image,
  };
}
