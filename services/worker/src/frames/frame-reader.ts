import type { VideoStorage } from '@framewise/storage';
import { InvalidStorageKeyError, StorageNotFoundError } from '@framewise/storage';

/** A frame's bytes, or the fact that there is no such frame to read. */
export type FrameRead =
  | { readonly kind: 'frame'; readonly bytes: Buffer }
  | { readonly kind: 'missing'; readonly error: Error };

/**
 * Reads frames from VideoStorage. A missing object (or a key that can never exist) is an
 * answer, not an exception: the worker decides whether it is a canceled video (drop) or a
 * permanent failure. Every other error is thrown for the caller to classify and retry.
 */
export class FrameReader {
  constructor(private readonly storage: Pick<VideoStorage, 'getBuffer'>) {}

  async read(key: string): Promise<FrameRead> {
    try {
      return { kind: 'frame', bytes: await this.storage.getBuffer(key) };
    } catch (error) {
      if (error instanceof StorageNotFoundError || error instanceof InvalidStorageKeyError) {
        return { kind: 'missing', error };
      }
      throw error;
    }
  }
}
