import { ImagingError } from './imaging-error.ts';
import { type GenerateImageRequest, GenerateImageRequestSchema } from './types.ts';

/** Validates a generate request at the port boundary; a bad one is `invalid_image_request` (400). */
export function parseGenerateRequest(req: unknown): GenerateImageRequest {
  const parsed = GenerateImageRequestSchema.safeParse(req);
  if (!parsed.success) {
    const detail = parsed.error.issues
      .map((i) => `${i.path.join('.') || 'request'}: ${i.message}`)
      .join('; ');
    throw new ImagingError('invalid_image_request', `invalid image request: ${detail}`, {
      cause: parsed.error,
    });
  }
  return parsed.data;
}
