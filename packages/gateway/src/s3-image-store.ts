import { GetObjectCommand, NoSuchKey, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { IMAGE_ID_PATTERN, type ImageStore } from './image-store.ts';

/**
 * Images in S3 under `images/<id>`, delivered with presigned GET URLs.
 *
 * @example
 * const images = createS3ImageStore({ client: new S3Client({}), bucket: 'my-images', now: Date.now });
 */
export function createS3ImageStore(options: {
  readonly client: S3Client;
  readonly bucket: string;
  readonly now: () => number;
}): ImageStore {
  const key = (id: string) => {
    if (!IMAGE_ID_PATTERN.test(id)) throw new Error(`invalid image id ${id}`);
    return `images/${id}`;
  };
  return {
    async put(id, image) {
      await options.client.send(
        new PutObjectCommand({
          Bucket: options.bucket,
          Key: key(id),
          Body: image.bytes,
          ContentType: image.mimeType,
        }),
      );
    },
    async get(id) {
      if (!IMAGE_ID_PATTERN.test(id)) return undefined;
      try {
        const out = await options.client.send(new GetObjectCommand({ Bucket: options.bucket, Key: key(id) }));
        if (out.Body === undefined) return undefined;
        return { bytes: await out.Body.transformToByteArray(), mimeType: out.ContentType ?? 'image/png' };
      } catch (error) {
        if (error instanceof NoSuchKey) return undefined;
        throw error;
      }
    },
    async url(id, expiresAt) {
      // SigV4 presigned URLs live at most 7 days.
      const seconds = Math.max(1, Math.min(604_800, Math.floor((expiresAt - options.now()) / 1000)));
      return getSignedUrl(options.client, new GetObjectCommand({ Bucket: options.bucket, Key: key(id) }), {
        expiresIn: seconds,
      });
    },
  };
}
