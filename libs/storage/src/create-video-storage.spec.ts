import { ConfigError, fragments, loadConfig, z } from '@framewise/config';
import { createVideoStorage, s3ClientConfig } from './create-video-storage';
import { LocalVolumeStorage } from './local-volume-storage';
import { S3Storage } from './s3-storage';

const schema = z.object({ ...fragments.storage });
const parse = (env: Record<string, string>) => loadConfig(schema, env, { service: 'test' });

describe('createVideoStorage', () => {
  it('builds a LocalVolumeStorage on the configured root (the default backend)', () => {
    const storage = createVideoStorage(parse({ STORAGE_LOCAL_ROOT: '/data/frames' }));
    if (!(storage instanceof LocalVolumeStorage)) throw new Error('expected LocalVolumeStorage');
    expect(storage.root).toBe('/data/frames');
  });

  it('builds an S3Storage for an S3-compatible server', () => {
    const storage = createVideoStorage(
      parse({
        STORAGE_BACKEND: 's3',
        S3_ENDPOINT: 'http://minio:9000',
        S3_BUCKET: 'frames',
        S3_FORCE_PATH_STYLE: 'true',
        S3_ACCESS_KEY_ID: 'id',
        S3_SECRET_ACCESS_KEY: 'secret',
      }),
    );
    if (!(storage instanceof S3Storage)) throw new Error('expected S3Storage');
    expect(storage.bucket).toBe('frames');
    storage.close();
  });

  it('lists every missing variable of the chosen backend at once', () => {
    const attempt = () =>
      createVideoStorage(parse({ STORAGE_BACKEND: 's3', S3_ACCESS_KEY_ID: 'id' }), {
        service: 'worker',
      });
    expect(attempt).toThrow(ConfigError);
    expect(attempt).toThrow(/S3_BUCKET[\s\S]*S3_SECRET_ACCESS_KEY/);
    expect(() => createVideoStorage(parse({}))).toThrow(/STORAGE_LOCAL_ROOT/);
  });

  it('never echoes the secret key in config errors', () => {
    expect(() => parse({ STORAGE_BACKEND: 'gcs', S3_SECRET_ACCESS_KEY: 'hunter2' })).toThrow(
      /STORAGE_BACKEND/,
    );
    expect(() => parse({ STORAGE_BACKEND: 'gcs', S3_SECRET_ACCESS_KEY: 'hunter2' })).not.toThrow(
      /hunter2/,
    );
  });
});

describe('s3ClientConfig', () => {
  it('asks for checksums only where S3 requires them, and passes the settings through', () => {
    const config = s3ClientConfig(
      parse({
        STORAGE_BACKEND: 's3',
        S3_ENDPOINT: 'https://s3.example.com',
        S3_REGION: 'eu-central-1',
        S3_BUCKET: 'b',
        S3_FORCE_PATH_STYLE: 'yes',
        S3_ACCESS_KEY_ID: 'id',
        S3_SECRET_ACCESS_KEY: 'secret',
      }),
    );
    expect(config).toEqual({
      region: 'eu-central-1',
      endpoint: 'https://s3.example.com',
      forcePathStyle: true,
      credentials: { accessKeyId: 'id', secretAccessKey: 'secret' },
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    });
  });

  it('leaves credentials to the AWS default chain when no keys are set', () => {
    const config = s3ClientConfig(parse({ STORAGE_BACKEND: 's3', S3_BUCKET: 'b' }));
    expect(config.credentials).toBeUndefined();
    expect(config.endpoint).toBeUndefined();
    expect(config.forcePathStyle).toBe(false);
  });
});
