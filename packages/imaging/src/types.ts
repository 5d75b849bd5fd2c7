import { IMAGE_QUALITIES, type ImageSize } from '@agentic-payments/x402';
import { z } from 'zod';
import { IMAGE_LIMITS } from './image-limits.ts';

/** Width and height in pixels of a product size (`IMAGE_SIZES` from `@agentic-payments/x402`). */
export function dimensionsOf(size: ImageSize): { width: number; height: number } {
  const [w, h] = size.split('x');
  return { width: Number(w), height: Number(h) };
}

export { IMAGE_LIMITS } from './image-limits.ts';

const side = z
  .number()
  .int()
  .min(IMAGE_LIMITS.minSide)
  .max(IMAGE_LIMITS.maxSide)
  .refine((n) => n % IMAGE_LIMITS.sideMultiple === 0, {
    message: `must be divisible by ${IMAGE_LIMITS.sideMultiple}`,
  });

export const GenerateImageRequestSchema = z
  .strictObject({
    prompt: z
      .string()
      .min(1)
      .max(IMAGE_LIMITS.maxPromptLength)
      .refine((s) => s.trim().length > 0, { message: 'must not be blank' }),
    width: side,
    height: side,
    quality: IMAGE_QUALITIES,
    seed: z.number().int().min(0).max(IMAGE_LIMITS.maxSeed).optional(),
  })
  .refine((r) => r.width * r.height <= IMAGE_LIMITS.maxPixels, {
    message: `width x height must be at most ${IMAGE_LIMITS.maxPixels} pixels`,
    path: ['width'],
  })
  .refine((r) => Math.max(r.width, r.height) / Math.min(r.width, r.height) <= IMAGE_LIMITS.maxAspect, {
    message: `aspect ratio must be between 1:${IMAGE_LIMITS.maxAspect} and ${IMAGE_LIMITS.maxAspect}:1`,
    path: ['height'],
  });

export type GenerateImageRequest = z.infer<typeof GenerateImageRequestSchema>;

export interface GeneratedImage {
  png: Uint8Array;
  mimeType: 'image/png';
  width: number;
  height: number;
  /** The seed actually used (derived from the prompt when the request had none). */
  seed: number;
  /** Which generator made the picture, e.g. `'local-procedural'` or `'bedrock:amazon.nova-canvas-v1:0'`. */
  generator: string;
  metadata: Record<string, string>;
}

export interface CallOptions {
  signal?: AbortSignal;
}

/** Port: turns a prompt into a PNG. Adapters: {@link LocalImageGenerator}, {@link NovaCanvasGenerator}. */
export interface ImageGenerator {
  readonly name: string;
  generate(req: GenerateImageRequest, opts?: CallOptions): Promise<GeneratedImage>;
}

export interface AnalyzeImageRequest {
  png: Uint8Array;
  /** The prompt the image was made from, if known: lets the analyzer name the subject. */
  prompt?: string;
}

export interface DominantColor {
  /** `#rrggbb` */
  hex: string;
  /** A plain colour name for the hex (nearest of a small named set). */
  name: string;
  /** Share of sampled pixels in this colour bucket, 0..1. */
  share: number;
}

export type CompositionLayout = 'centered' | 'rule_of_thirds' | 'off_center' | 'balanced';

export interface Composition {
  /** Centre of visual weight, as fractions of width and height (0.5, 0.5 is the centre). */
  centerOfMass: { x: number; y: number };
  /** 1 when the centre of weight sits on a rule-of-thirds intersection, falling to 0 far from all four. */
  thirdsAlignment: number;
  /** Left/right mirror similarity of luma, 0..1. */
  symmetry: number;
  /** Mean edge strength, 0..1: low for flat or minimal images, high for busy ones. */
  detail: number;
  layout: CompositionLayout;
  description: string;
}

/**
 * What an analyzer reports. The numeric fields are always measured from the pixels; the prose
 * fields (summary, composition.description, tags, suggestions) come from a template or a model,
 * as `analyzer` says.
 */
export interface ImageAnalysis {
  analyzer: string;
  summary: string;
  width: number;
  height: number;
  dominantColors: DominantColor[];
  /** Mean luma, 0 (black) .. 1 (white). */
  brightness: number;
  /** Standard deviation of luma, 0 (flat) .. 0.5 (half black, half white). */
  contrast: number;
  /** Hasler–Süsstrunk colourfulness scaled to 0..1 (0 is greyscale). */
  colorfulness: number;
  composition: Composition;
  tags: string[];
  suggestedUses: string[];
  platforms: string[];
  /** Advisory pricing ideas in prose for third-party marketplaces; not amounts this system charges. */
  pricingIdeas: string[];
}

/** Port: describes an image and how it could be sold. Adapters: local statistics, Claude vision. */
export interface ImageAnalyzer {
  readonly name: string;
  analyze(req: AnalyzeImageRequest, opts?: CallOptions): Promise<ImageAnalysis>;
}
