/**
 * @framewise/storage — where videos, frames and exports live.
 *
 * {@link VideoStorage} is the port; {@link LocalVolumeStorage} (a directory shared by the
 * services) and {@link S3Storage} (AWS S3 or an S3-compatible server) are its adapters.
 * Services build one with {@link createVideoStorage} from `fragments.storage` of
 * @framewise/config, in `main.ts`, and pass it down.
 *
 * Keys are relative POSIX paths checked by {@link validateKey}; errors are the typed classes
 * of `errors.ts` ({@link StorageNotFoundError}, {@link StorageAccessDeniedError},
 * {@link StorageBucketNotFoundError}, {@link StorageNetworkError}, …).
 */
export type {
  ByteRange,
  Download,
  DownloadOptions,
  GetOptions,
  ListOptions,
  ListPage,
  ObjectInfo,
  PutOptions,
  StoredObjectStream,
  VideoStorage,
} from './video-storage';
export { LocalVolumeStorage } from './local-volume-storage';
export type { LocalVolumeStorageOptions } from './local-volume-storage';
export { S3Storage, compatibleS3ClientConfig } from './s3-storage';
export type {
  S3StorageOptions,
  S3StorageTuning,
  S3StorageWithClient,
  S3StorageWithConfig,
} from './s3-storage';
export { createVideoStorage, s3ClientConfig } from './create-video-storage';
export type { StorageSettings } from './create-video-storage';
export {
  InvalidStorageKeyError,
  StorageAccessDeniedError,
  StorageBucketNotFoundError,
  StorageError,
  StorageInvalidRangeError,
  StorageNetworkError,
  StorageNotFoundError,
} from './errors';
export type { StorageBackendName } from './errors';
export { MAX_KEY_LENGTH, MAX_KEY_PART_LENGTH, validateKey, validatePrefix } from './keys';
export { contentTypeFor } from './content-types';
