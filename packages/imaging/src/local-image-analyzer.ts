import { decodePng, measureImage } from './image-statistics.ts';
import { ImagingError } from './imaging-error.ts';
import { monetizationTemplate } from './monetization-template.ts';
import type { AnalyzeImageRequest, CallOptions, ImageAnalysis, ImageAnalyzer } from './types.ts';

export const LOCAL_ANALYZER_NAME = 'local-statistics';
export const LOCAL_ANALYZER_LABEL = 'local-statistics (not an AI model)';

/**
 * The embedded default {@link ImageAnalyzer}: local statistics, NOT an AI model. It decodes the PNG,
 * measures brightness, contrast, colourfulness, dominant colours and composition from a sample
 * grid, and fills a rule-based monetization template from those numbers and the prompt.
 *
 * @example
 * const analysis = await new LocalImageAnalyzer().analyze({ png, prompt: 'sunset over the ocean' });
 * analysis.analyzer; // 'local-statistics (not an AI model)'
 */
export class LocalImageAnalyzer implements ImageAnalyzer {
  readonly name = LOCAL_ANALYZER_NAME;

  async analyze(req: AnalyzeImageRequest, opts: CallOptions = {}): Promise<ImageAnalysis> {
    if (opts.signal?.aborted) {
      throw new ImagingError('analysis_timeout', 'image analysis was aborted before it started', {
        cause: opts.signal.reason,
      });
    }
    if (!(req.png instanceof Uint8Array)) throw new ImagingError('invalid_image', 'png must be bytes');
    const stats = measureImage(decodePng(req.png));
    const template = monetizationTemplate(stats, req.prompt);
    return {
      analyzer: LOCAL_ANALYZER_LABEL,
      summary: template.summary,
      width: stats.width,
      height: stats.height,
      dominantColors: stats.dominantColors,
      brightness: stats.brightness,
      contrast: stats.contrast,
      colorfulness: stats.colorfulness,
      composition: { ...stats.composition, description: template.compositionDescription },
      tags: template.tags,
      suggestedUses: template.suggestedUses,
      platforms: template.platforms,
      pricingIdeas: template.pricingIdeas,
    };
  }
}
