import { z } from 'zod';
import { ClaudeVisionAnalyzer } from './claude-vision-analyzer.ts';
import { ImagingError } from './imaging-error.ts';
import { LocalImageAnalyzer } from './local-image-analyzer.ts';
import { LocalImageGenerator } from './local-image-generator.ts';
import { NovaCanvasGenerator } from './nova-canvas-generator.ts';
import type { ImageAnalyzer, ImageGenerator } from './types.ts';

/** Which adapter to use: `local` (the embedded stand-ins, not AI models) or `bedrock`. */
export const ImagingConfigSchema = z.strictObject({
  kind: z.enum(['local', 'bedrock']),
  region: z.string().min(1).optional(),
  modelId: z.string().min(1).optional(),
  /** Bedrock endpoint override (e.g. a local stand-in, or a VPC endpoint). */
  endpoint: z.url().optional(),
  timeoutMs: z.number().int().positive().optional(),
  /** `local` only: worker threads that render the images (0 or unset: the caller's thread). */
  threads: z.number().int().min(0).max(16).optional(),
});
export type ImagingConfig = z.infer<typeof ImagingConfigSchema>;

export interface ImagingFactoryExtras {
  log?: (line: Record<string, unknown>) => void;
}

function parseConfig(config: unknown): ImagingConfig {
  const parsed = ImagingConfigSchema.safeParse(config);
  if (!parsed.success) {
    throw new ImagingError(
      'invalid_image_request',
      `invalid imaging config: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
      { cause: parsed.error },
    );
  }
  return parsed.data;
}

function bedrockOptions(config: ImagingConfig) {
  return {
    ...(config.region === undefined ? {} : { region: config.region }),
    ...(config.modelId === undefined ? {} : { modelId: config.modelId }),
    ...(config.endpoint === undefined ? {} : { endpoint: config.endpoint }),
    ...(config.timeoutMs === undefined ? {} : { timeoutMs: config.timeoutMs }),
  };
}

/**
 * Builds the configured {@link ImageGenerator}.
 *
 * @example
 * const generator = createImageGenerator({ kind: process.env.IMAGE_GENERATOR === 'bedrock' ? 'bedrock' : 'local', region: 'us-east-1' });
 */
export function createImageGenerator(
  config: ImagingConfig,
  extras: ImagingFactoryExtras = {},
): ImageGenerator {
  const parsed = parseConfig(config);
  const log = extras.log === undefined ? {} : { log: extras.log };
  return parsed.kind === 'local'
    ? new LocalImageGenerator({
        ...log,
        ...(parsed.threads === undefined ? {} : { threads: parsed.threads }),
      })
    : new NovaCanvasGenerator({ ...bedrockOptions(parsed), ...log });
}

/**
 * Builds the configured {@link ImageAnalyzer}. `bedrock` needs `modelId` (the Claude model the
 * deployment configured and its IAM policy grants); there is no built-in default.
 */
export function createImageAnalyzer(config: ImagingConfig): ImageAnalyzer {
  const parsed = parseConfig(config);
  if (parsed.kind === 'local') return new LocalImageAnalyzer();
  const { modelId } = parsed;
  if (modelId === undefined) {
    throw new ImagingError(
      'invalid_image_request',
      'invalid imaging config: modelId: the bedrock analyzer needs the configured Claude model id',
    );
  }
  return new ClaudeVisionAnalyzer({ ...bedrockOptions(parsed), modelId });
}
