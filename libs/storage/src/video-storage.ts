import type { Readable } from 'node:stream';
import type { StorageBackendName } from './errors';

/** What a stored object looks like from outside: enough for HTTP headers and listings. */
export interface ObjectInfo {
  readonly key: string;
  /** Size in bytes. */
  readonly size: number;
  /** MIME type given at put (or derived from the key's extension), when known. */
  readonly contentType?: string;
  readonly lastModified: Date;
}

/**
 * An inclusive byte range, as in HTTP `Range: bytes=start-end`. `end` defaults to the last
 * byte and is clamped to it; a `start` at or past the end of the object is an error
 * (`StorageInvalidRangeError`).
 */
export interface ByteRange {
  readonly start: number;
  readonly end?: number;
}

export interface PutOptions {
  /** MIME type, e.g. `image/jpeg`. Default: derived from the key's extension. */
  readonly contentType?: string;
}

export interface GetOptions {
  /** Only these bytes. */
  readonly range?: ByteRange;
}

/** An object's bytes as a stream, with what is known about it. */
export interface StoredObjectStream {
  /** The object (or the requested range). The caller must consume or destroy it. */
  readonly body: Readable;
  readonly info: ObjectInfo;
  /** Bytes `body` will yield: the object's size, or the range's length. */
  readonly length: number;
}

export interface ListOptions {
  /** Most objects per page (S3 caps this at 1000). Default 1000. */
  readonly limit?: number;
  /** `nextCursor` of the previous page. */
  readonly cursor?: string;
}

export interface ListPage {
  /**
   * Objects in key order (byte order of the ASCII keys). Listings carry no `contentType`
   * (S3 does not return it); `head` a key for it.
   */
  readonly objects: readonly ObjectInfo[];
  /** Pass as `cursor` to get the next page; absent on the last page. Opaque. */
  readonly nextCursor?: string;
}

export interface DownloadOptions {
  /** How long a presigned URL stays valid, in seconds. Default 900 (15 minutes). */
  readonly expiresInSeconds?: number;
  /** Suggests a file name to browsers (Content-Disposition: attachment). */
  readonly filename?: string;
}

/**
 * How to hand an object to an HTTP client: a URL the client fetches from storage itself
 * (S3 presigned GET; the API answers with a redirect), or a stream the API pipes through.
 */
export type Download =
  | { readonly kind: 'url'; readonly url: string; readonly expiresAt: Date }
  | ({ readonly kind: 'stream' } & StoredObjectStream);

/**
 * Where videos, frames and other blobs live. Keys are relative POSIX paths checked by
 * `validateKey`; every method throws `InvalidStorageKeyError` for a bad key before touching
 * storage, and the typed errors of `errors.ts` for everything else.
 *
 * Writes are atomic for readers: a reader sees the old object, the new one or none, never a
 * part. Two adapters: `LocalVolumeStorage` (a shared directory) and `S3Storage`.
 */
export interface VideoStorage {
  /** Which adapter this is, for logs and readiness output. */
  readonly backend: StorageBackendName;

  /** Stores `body` under `key`, replacing any object there. A stream is consumed to its end. */
  put(key: string, body: Buffer | Uint8Array | Readable, options?: PutOptions): Promise<ObjectInfo>;

  /** The whole object (or a range) in memory: for frames and other small objects. */
  getBuffer(key: string, options?: GetOptions): Promise<Buffer>;

  /** The object (or a range) as a stream: for originals and anything large. */
  getStream(key: string, options?: GetOptions): Promise<StoredObjectStream>;

  /** What is known about an object; throws `StorageNotFoundError` when there is none. */
  head(key: string): Promise<ObjectInfo>;

  /** Whether an object exists under `key`. */
  exists(key: string): Promise<boolean>;

  /** Deletes one object. Deleting a missing object is not an error. */
  delete(key: string): Promise<void>;

  /**
   * Deletes every object whose key starts with `prefix` (non-empty; end it with `/` to mean a
   * folder). Returns how many objects it deleted.
   */
  deleteByPrefix(prefix: string): Promise<number>;

  /** One page of the objects whose key starts with `prefix`, in key order. */
  list(prefix: string, options?: ListOptions): Promise<ListPage>;

  /** Every object under `prefix`, page by page. */
  listAll(prefix: string): AsyncIterable<ObjectInfo>;

  /** How to hand an object to an HTTP client (see {@link Download}). */
  download(key: string, options?: DownloadOptions): Promise<Download>;

  /**
   * Throws the typed error that explains why storage is unusable (missing bucket or root,
   * access denied, unreachable), else resolves. For `/readyz` and start-up checks.
   */
  checkReady(): Promise<void>;
}
