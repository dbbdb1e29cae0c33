/**
 * @framewise-needs s3
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import {
  GetObjectCommand,
  HeadBucketCommand,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { privateBackend } from './backend';
import { LocalRadosgw } from './local/radosgw';
import { isAlive, sweepOrphans } from './local/processes';
import { createTestBucket, s3ClientConfigOf, sharedS3 } from './s3';

describe('shared S3', () => {
  it('is published to test workers, and each test gets a bucket of its own', async () => {
    const s3 = sharedS3();
    expect(s3.endpoint).toMatch(/^https?:\/\//);
    const [a, b] = await Promise.all([createTestBucket('one'), createTestBucket('two')]);
    const client = new S3Client(s3ClientConfigOf(s3));
    try {
      expect(a.prefix).not.toBe(b.prefix);
      if (s3.bucket === undefined) expect(a.bucket).not.toBe(b.bucket);
      await client.send(
        new PutObjectCommand({ Bucket: a.bucket, Key: `${a.prefix}x`, Body: 'from a' }),
      );
      const got = await client.send(
        new GetObjectCommand({ Bucket: a.bucket, Key: `${a.prefix}x` }),
      );
      expect(await got.Body?.transformToString()).toBe('from a');
    } finally {
      await Promise.all([a.destroy(), b.destroy()]);
    }
    if (s3.bucket === undefined) {
      await expect(client.send(new HeadBucketCommand({ Bucket: a.bucket }))).rejects.toThrow();
    }
    client.destroy();
  });
});

const localCeph = LocalRadosgw.available() ? describe : describe.skip;

localCeph('private RADOS Gateway', () => {
  it('checks SigV4 signatures', async () => {
    if ((await privateBackend()) !== 'local') return;
    const s3 = sharedS3();
    const wrong = new S3Client({
      ...s3ClientConfigOf(s3),
      credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: 'not-the-secret' },
    });
    const bucket = await createTestBucket('sigv4');
    try {
      await expect(
        wrong.send(new PutObjectCommand({ Bucket: bucket.bucket, Key: 'k', Body: 'x' })),
      ).rejects.toMatchObject({ name: 'SignatureDoesNotMatch' });
    } finally {
      wrong.destroy();
      await bucket.destroy();
    }
  });

  it('is swept, every daemon of it, when its owner died', async () => {
    const rgw = await LocalRadosgw.create();
    const pids = rgw.pids;
    expect(pids).toHaveLength(3);
    const deadOwner = spawnSync(process.execPath, ['-e', '0']).pid;
    const ownerFile = path.join(rgw.dir, 'owner.json');
    const owner = JSON.parse(fs.readFileSync(ownerFile, 'utf8')) as { ownerPid: number };
    fs.writeFileSync(ownerFile, JSON.stringify({ ...owner, ownerPid: deadOwner }));

    expect(sweepOrphans()).toBeGreaterThanOrEqual(1);
    const deadline = Date.now() + 10_000;
    while (pids.some((pid) => isAlive(pid)) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(pids.filter((pid) => isAlive(pid))).toEqual([]);
    expect(fs.existsSync(rgw.dir)).toBe(false);
    await rgw.stop(); // harmless after a sweep
  });
});
