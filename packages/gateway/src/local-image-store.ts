import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { access, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { IMAGE_ID_PATTERN, type ImageStore, type StoredImage } from './image-store.ts';

const EXTENSIONS: Record<string, string> = { 'image/png': 'png', 'image/jpeg': 'jpg' };

export interface LocalImageStore extends ImageStore {
  /** Check a `GET /images/:id?exp=&sig=` request; `now` in ms. */
  verifySignature(id: string, exp: string, sig: string, now: number): boolean;
}

/**
 * Images as files under `<dataDir>/images`, served by the gateway at `/images/:id?exp=&sig=` where
 * `sig` is an HMAC-SHA256 over `id.exp` with IMAGE_URL_SECRET (the local stand-in for S3 presigned
 * URLs).
 *
 * @example
 * const images = createLocalImageStore({ dataDir: '.data', publicUrl: 'http://127.0.0.1:4021', secret });
 */
export function createLocalImageStore(options: {
  readonly dataDir: string;
  readonly publicUrl: string;
  readonly secret: string;
}): LocalImageStore {
  const dir = join(options.dataDir, 'images');
  const sign = (id: string, exp: string) =>
    createHmac('sha256', options.secret).update(`${id}.${exp}`).digest('base64url');
  const fileFor = async (id: string): Promise<{ path: string; mimeType: string } | undefined> => {
    if (!IMAGE_ID_PATTERN.test(id)) return undefined;
    for (const [mimeType, ext] of Object.entries(EXTENSIONS)) {
      const path = join(dir, `${id}.${ext}`);
      try {
        await access(path);
        return { path, mimeType };
      } catch {
        // try the next extension
      }
    }
    return undefined;
  };

  let made: Promise<void> | undefined;
  return {
    async put(id, image) {
      const ext = EXTENSIONS[image.mimeType];
      if (!IMAGE_ID_PATTERN.test(id) || ext === undefined) {
        throw new Error(`refusing to store image ${id} (${image.mimeType})`);
      }
      made ??= mkdir(dir, { recursive: true }).then(
        () => undefined,
        (error: unknown) => {
          made = undefined;
          throw error;
        },
      );
      await made;
      // Written aside, then renamed (atomic on one file system): a crash mid-write never leaves a
      // partial file under the id, whose presence means "the image exists, settle may have run".
      const path = join(dir, `${id}.${ext}`);
      const partial = `${path}.${randomBytes(6).toString('hex')}.partial`;
      try {
        await writeFile(partial, image.bytes);
        await rename(partial, path);
      } catch (error) {
        await rm(partial, { force: true });
        throw error;
      }
    },
    async get(id): Promise<StoredImage | undefined> {
      const file = await fileFor(id);
      if (file === undefined) return undefined;
      return { bytes: new Uint8Array(await readFile(file.path)), mimeType: file.mimeType };
    },
    async url(id, expiresAt) {
      const exp = String(Math.floor(expiresAt / 1000));
      const base = options.publicUrl.replace(/\/+$/, '');
      return `${base}/images/${id}?exp=${exp}&sig=${sign(id, exp)}`;
    },
    verifySignature(id, exp, sig, now) {
      if (!IMAGE_ID_PATTERN.test(id) || !/^\d{1,12}$/.test(exp)) return false;
      if (Number(exp) * 1000 <= now) return false;
      const expected = Buffer.from(sign(id, exp));
      const given = Buffer.from(sig);
      return expected.length === given.length && timingSafeEqual(expected, given);
    },
  };
}
