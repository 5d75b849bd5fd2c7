import { GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import type { ImageStore } from '../ports.ts';

/** Images in S3, handed out as presigned GET URLs that expire after `urlTtlSeconds`. */
export function createS3ImageStore(options: {
  client: S3Client;
  bucket: string;
  urlTtlSeconds: number;
}): ImageStore {
  const { client, bucket, urlTtlSeconds } = options;
  return {
    async put({ key, body, contentType }) {
      await client.send(
        new PutObjectCommand({
          Bucket: bucket,
          Key: key,
          Body: body,
          ContentType: contentType,
          CacheControl: 'private, max-age=3600',
        }),
      );
      const url = await getSignedUrl(client, new GetObjectCommand({ Bucket: bucket, Key: key }), {
        expiresIn: urlTtlSeconds,
      });
      return { url };
    },
  };
}
