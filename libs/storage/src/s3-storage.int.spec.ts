/**
 * @framewise-needs s3
 */
import { HeadObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { createTestBucket, freePort, sharedS3 } from '@framewise/testing';
import type { TestBucket } from '@framewise/testing';
import { randomBytes } from 'node:crypto';
import { describeVideoStorageConformance } from './conformance.spec-helper';
import {
  StorageAccessDeniedError,
  StorageBucketNotFoundError,
  StorageNetworkError,
  StorageNotFoundError,
} from './errors';
import { S3Storage } from './s3-storage';

describeVideoStorageConformance('S3Storage', async () => {
  const bucket = await createTestBucket('conformance');
  const storage = new S3Storage({ bucket: bucket.bucket, clientConfig: bucket.clientConfig });
  return {
    storage,
    prefix: bucket.prefix,
    destroy: async () => {
      storage.close();
      await bucket.destroy();
    },
  };
});

describe('S3Storage against a real S3 server', () => {
  let bucket: TestBucket;
  let storage: S3Storage;
  beforeAll(async () => {
    bucket = await createTestBucket('s3-specific');
    storage = new S3Storage({
      bucket: bucket.bucket,
      clientConfig: bucket.clientConfig,
      multipartThresholdBytes: 6 * 1024 * 1024,
      partSizeBytes: 5 * 1024 * 1024,
    });
  });
  afterAll(async () => {
    storage.close();
    await bucket.destroy();
  });

  it('sends large buffers as multipart uploads, and the bytes survive', async () => {
    const bytes = randomBytes(12 * 1024 * 1024);
    const key = `${bucket.prefix}multipart.bin`;
    expect((await storage.put(key, bytes)).size).toBe(bytes.length);
    const raw = new S3Client(bucket.clientConfig);
    try {
      const head = await raw.send(new HeadObjectCommand({ Bucket: bucket.bucket, Key: key }));
      // A multipart object's ETag is `<md5 of part md5s>-<parts>`.
      expect(head.ETag).toMatch(/-3"?$/);
    } finally {
      raw.destroy();
    }
    expect((await storage.getBuffer(key)).equals(bytes)).toBe(true);
  });

  it('deletes more than one DeleteObjects batch (1000 keys) by prefix', async () => {
    const keys = Array.from(
      { length: 1203 },
      (_, i) => `${bucket.prefix}many/${String(i).padStart(5, '0')}.jpg`,
    );
    for (let i = 0; i < keys.length; i += 100) {
      await Promise.all(keys.slice(i, i + 100).map((k) => storage.put(k, Buffer.from('x'))));
    }
    expect(await storage.deleteByPrefix(`${bucket.prefix}many/`)).toBe(keys.length);
    expect((await storage.list(`${bucket.prefix}many/`)).objects).toEqual([]);
  });

  it('hands out presigned URLs that the server checks', async () => {
    await storage.put(`${bucket.prefix}signed.bin`, Buffer.from('signed bytes'));
    const download = await storage.download(`${bucket.prefix}signed.bin`, { expiresInSeconds: 60 });
    if (download.kind !== 'url') throw new Error('expected a URL');
    expect(download.expiresAt.getTime()).toBeGreaterThan(Date.now());
    const ok = await fetch(download.url);
    expect(await ok.text()).toBe('signed bytes');
    const tampered = download.url.replace('signed.bin', 'signed.bin2');
    expect((await fetch(tampered)).status).toBe(403);
  });

  it('says the bucket is missing, naming what to check', async () => {
    const missing = new S3Storage({
      bucket: `fwt-missing-${randomBytes(4).toString('hex')}`,
      clientConfig: bucket.clientConfig,
    });
    try {
      for (const attempt of [
        () => missing.checkReady(),
        () => missing.put('a.bin', Buffer.from('x')),
        () => missing.getBuffer('a.bin'),
        () => missing.head('a.bin'),
        () => missing.list(''),
      ]) {
        const error = await attempt().catch((e: unknown) => e);
        expect(error).toBeInstanceOf(StorageBucketNotFoundError);
        expect((error as Error).message).toContain('S3_BUCKET');
      }
    } finally {
      missing.close();
    }
  });

  it('turns a bad secret or an unknown key id into StorageAccessDeniedError', async () => {
    const s3 = sharedS3();
    for (const credentials of [
      { accessKeyId: s3.accessKeyId, secretAccessKey: 'wrong-secret' },
      { accessKeyId: 'AKIDNOTKNOWNHERE0000', secretAccessKey: s3.secretAccessKey },
    ]) {
      const denied = new S3Storage({
        bucket: bucket.bucket,
        clientConfig: { ...bucket.clientConfig, credentials },
      });
      try {
        await expect(denied.getBuffer(`${bucket.prefix}x.bin`)).rejects.toBeInstanceOf(
          StorageAccessDeniedError,
        );
        await expect(denied.put(`${bucket.prefix}x.bin`, Buffer.from('x'))).rejects.toThrow(
          /S3_(SECRET_ACCESS_KEY|ACCESS_KEY_ID)/,
        );
        await expect(denied.checkReady()).rejects.toBeInstanceOf(StorageAccessDeniedError);
      } finally {
        denied.close();
      }
    }
  });

  it('turns an unreachable server into a retryable StorageNetworkError', async () => {
    const port = await freePort(); // free a moment ago: nothing listens there
    const unreachable = new S3Storage({
      bucket: bucket.bucket,
      clientConfig: {
        ...bucket.clientConfig,
        endpoint: `http://127.0.0.1:${port}`,
        maxAttempts: 1,
      },
    });
    try {
      const error: unknown = await unreachable.getBuffer('a.bin').catch((e: unknown) => e);
      expect(error).toBeInstanceOf(StorageNetworkError);
      expect((error as StorageNetworkError).retryable).toBe(true);
      expect((error as Error).message).toContain('S3_ENDPOINT');
    } finally {
      unreachable.close();
    }
  });

  it('tells a missing key from a missing bucket on HEAD before any other call', async () => {
    const fresh = new S3Storage({ bucket: bucket.bucket, clientConfig: bucket.clientConfig });
    try {
      await expect(fresh.head(`${bucket.prefix}nope.bin`)).rejects.toBeInstanceOf(
        StorageNotFoundError,
      );
    } finally {
      fresh.close();
    }
  });
});
