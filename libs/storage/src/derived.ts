import { InvalidStorageKeyError, StorageNotFoundError } from './errors';
import type { ListPage, ObjectInfo, VideoStorage } from './video-storage';

// The parts of VideoStorage every adapter derives the same way from its own primitives.

/** `exists` from `head`: false for a missing object, any other error thrown. */
export async function existsViaHead(storage: Pick<VideoStorage, 'head'>, key: string) {
  try {
    await storage.head(key);
    return true;
  } catch (error) {
    if (error instanceof StorageNotFoundError) return false;
    throw error;
  }
}

/** `listAll` from `list`: every object under `prefix`, page by page. */
export async function* listAllViaPages(
  list: (prefix: string, options: { cursor?: string }) => Promise<ListPage>,
  prefix: string,
): AsyncGenerator<ObjectInfo> {
  let cursor: string | undefined;
  do {
    const page = await list(prefix, cursor === undefined ? {} : { cursor });
    yield* page.objects;
    cursor = page.nextCursor;
  } while (cursor !== undefined);
}

/** Refuses the empty prefix for deletion: it would mean everything. */
export function checkDeletePrefix(prefix: string): void {
  if (prefix === '') {
    throw new InvalidStorageKeyError(prefix, 'deleting by an empty prefix would delete everything');
  }
}
