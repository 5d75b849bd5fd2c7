import { createHash } from 'node:crypto';
import type { AgentOutput } from './messages.ts';
import type { ImageStore, Logger } from './ports.ts';
import { RealtimeError } from './realtime-error.ts';

const DATA_URL = /^data:(image\/(?:png|jpeg|webp|gif));base64,([A-Za-z0-9+/]+={0,2})$/;
const EXTENSIONS: Record<string, string> = {
  'image/png': 'png',
  'image/jpeg': 'jpg',
  'image/webp': 'webp',
  'image/gif': 'gif',
};
const SAFE_ID = /^[A-Za-z0-9._-]{1,128}$/;

/**
 * Replaces data-URL images with URLs from the image store, under `sessions/<session>/`. API Gateway
 * frames are at most 128 KiB, a 1024x1024 PNG is not. http(s) URLs pass through; anything else is
 * dropped (and logged) rather than handed to the browser.
 */
export async function offloadImages(
  output: AgentOutput,
  sessionId: string,
  deps: { images: ImageStore; logger: Logger },
): Promise<AgentOutput> {
  if (!output.images) return output;
  const entries = await Promise.all(
    Object.entries(output.images).map(async ([id, url]): Promise<[string, string] | undefined> => {
      if (/^https?:\/\//.test(url)) return [id, url];
      const match = DATA_URL.exec(url);
      const mime = match?.[1];
      const base64 = match?.[2];
      if (!mime || !base64) {
        deps.logger.warn('image_dropped', { sessionId, imageId: id, reason: 'not an image data URL' });
        return undefined;
      }
      const safeId = SAFE_ID.test(id) ? id : createHash('sha256').update(id).digest('hex').slice(0, 32);
      const key = `sessions/${sessionId}/${safeId}.${EXTENSIONS[mime] ?? 'bin'}`;
      try {
        const { url: stored } = await deps.images.put({
          key,
          body: Buffer.from(base64, 'base64'),
          contentType: mime,
        });
        return [id, stored];
      } catch (error) {
        throw new RealtimeError('image_upload_failed', 'The image was generated but could not be stored.', {
          cause: error,
        });
      }
    }),
  );
  return { ...output, images: Object.fromEntries(entries.filter((e) => e !== undefined)) };
}
