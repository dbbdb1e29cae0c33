import type { S3ClientConfig } from '@aws-sdk/client-s3';
import type { ConfigProblem, fragments, z } from '@framewise/config';
import { ConfigError } from '@framewise/config';
import { LocalVolumeStorage } from './local-volume-storage';
import { S3Storage, compatibleS3ClientConfig } from './s3-storage';
import type { VideoStorage } from './video-storage';

/**
 * The storage part of a service's parsed config: `fragments.storage` of @framewise/config.
 * A service's whole config object fits here, since it includes these fields.
 */
export type StorageSettings = z.output<z.ZodObject<typeof fragments.storage>>;

/**
 * Builds the adapter the settings name. Called once, from a service's `main.ts`:
 *
 * ```ts
 * const config = loadConfig(z.object({ ...fragments.storage, ... }), process.env, { service });
 * const storage = createVideoStorage(config, { service });
 * await storage.checkReady();
 * ```
 *
 * @throws ConfigError listing every variable the chosen backend needs and lacks.
 */
export function createVideoStorage(
  settings: StorageSettings,
  options: { service?: string } = {},
): VideoStorage {
  const problems = storageProblems(settings);
  if (problems.length > 0) throw new ConfigError(options.service ?? 'storage', problems);
  switch (settings.STORAGE_BACKEND) {
    case 'local':
      return new LocalVolumeStorage({ root: settings.STORAGE_LOCAL_ROOT ?? '' });
    case 's3':
      return new S3Storage({
        bucket: settings.S3_BUCKET ?? '',
        clientConfig: s3ClientConfig(settings),
      });
  }
}

/** The S3 client config the settings describe (checksums set for S3-compatible servers). */
export function s3ClientConfig(settings: StorageSettings): S3ClientConfig {
  const { S3_ACCESS_KEY_ID: accessKeyId, S3_SECRET_ACCESS_KEY: secretAccessKey } = settings;
  return compatibleS3ClientConfig({
    region: settings.S3_REGION,
    forcePathStyle: settings.S3_FORCE_PATH_STYLE,
    ...(settings.S3_ENDPOINT === undefined ? {} : { endpoint: settings.S3_ENDPOINT }),
    // Without explicit keys the SDK's default chain applies (IAM role, AWS_PROFILE, …).
    ...(accessKeyId !== undefined && secretAccessKey !== undefined
      ? { credentials: { accessKeyId, secretAccessKey } }
      : {}),
  });
}

function storageProblems(settings: StorageSettings): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  if (settings.STORAGE_BACKEND === 'local' && settings.STORAGE_LOCAL_ROOT === undefined) {
    problems.push({
      variable: 'STORAGE_LOCAL_ROOT',
      expected: 'the shared storage directory (required when STORAGE_BACKEND=local)',
    });
  }
  if (settings.STORAGE_BACKEND === 's3') {
    if (settings.S3_BUCKET === undefined) {
      problems.push({
        variable: 'S3_BUCKET',
        expected: 'the bucket name (required when STORAGE_BACKEND=s3)',
      });
    }
    const hasId = settings.S3_ACCESS_KEY_ID !== undefined;
    const hasSecret = settings.S3_SECRET_ACCESS_KEY !== undefined;
    if (hasId !== hasSecret) {
      problems.push({
        variable: hasId ? 'S3_SECRET_ACCESS_KEY' : 'S3_ACCESS_KEY_ID',
        expected: `to be set together with ${hasId ? 'S3_ACCESS_KEY_ID' : 'S3_SECRET_ACCESS_KEY'} (or leave both unset for the AWS default credential chain)`,
      });
    }
  }
  return problems;
}
