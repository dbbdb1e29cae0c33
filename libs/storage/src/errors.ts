// Every error the storage adapters throw, in one place. Callers branch on the class (a worker
// retries a StorageNetworkError, an HTTP layer maps StorageNotFoundError to 404); operators read
// the message, which says what to check.

/** What kind of storage an error came from, named in messages. */
export type StorageBackendName = 'local' | 's3';

/** Base class of every storage error. `key` is the object key involved, when there is one. */
export class StorageError extends Error {
  override name = 'StorageError';
  /** True when trying again later may succeed (network trouble, a server restarting). */
  readonly retryable: boolean = false;

  constructor(
    message: string,
    readonly key?: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** A key or prefix that breaks the key rules (see `validateKey`). Nothing was read or written. */
export class InvalidStorageKeyError extends StorageError {
  override name = 'InvalidStorageKeyError';

  constructor(
    key: string,
    readonly reason: string,
  ) {
    super(`invalid storage key ${JSON.stringify(key)}: ${reason}`, key);
  }
}

/** No object under this key. */
export class StorageNotFoundError extends StorageError {
  override name = 'StorageNotFoundError';

  constructor(key: string, where: string, options?: { cause?: unknown }) {
    super(
      `no object ${JSON.stringify(key)} in ${where}: check that it was written (and not yet deleted) under exactly this key`,
      key,
      options,
    );
  }
}

/** A byte range that starts at or past the end of the object. */
export class StorageInvalidRangeError extends StorageError {
  override name = 'StorageInvalidRangeError';

  constructor(key: string, range: string, size: number | undefined, options?: { cause?: unknown }) {
    super(
      `byte range ${range} is outside object ${JSON.stringify(key)}${size === undefined ? '' : ` (${size} bytes)`}: ranges start below the object's size`,
      key,
      options,
    );
  }
}

/** The credentials, bucket policy or file permissions do not allow the operation. */
export class StorageAccessDeniedError extends StorageError {
  override name = 'StorageAccessDeniedError';
}

/**
 * The place objects live in does not exist: the S3 bucket, or the local root directory (an
 * unmounted volume, a typo in STORAGE_LOCAL_ROOT).
 */
export class StorageBucketNotFoundError extends StorageError {
  override name = 'StorageBucketNotFoundError';
}

/** The storage could not be reached or answered with a server error; retrying may help. */
export class StorageNetworkError extends StorageError {
  override name = 'StorageNetworkError';
  override readonly retryable = true;
}
