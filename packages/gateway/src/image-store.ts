/** Where paid images are kept and how a buyer fetches them again. */
export interface StoredImage {
  readonly bytes: Uint8Array;
  readonly mimeType: string;
}

export interface ImageStore {
  put(id: string, image: StoredImage): Promise<void>;
  get(id: string): Promise<StoredImage | undefined>;
  /** A URL that serves the image until `expiresAt` (ms since epoch). */
  url(id: string, expiresAt: number): Promise<string>;
}

/** Image ids are UUIDs; anything else is refused before it reaches a path or an object key. */
export const IMAGE_ID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
