/**
 * @framewise-needs s3
 */
// Upload and extraction end to end with S3 storage (libs/storage's S3Storage against the
// harness's S3 server: a local Ceph RADOS Gateway, or MinIO): the original is stored in the
// bucket, ffmpeg reads it through a presigned URL, frames land in the bucket, the API serves
// them from there and a cancel deletes them there.
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import request from 'supertest';
import { frameKey, framesPrefix, frameQueue, originalKey } from '@framewise/contracts';
import { QueueAdmin } from '@framewise/queue';
import { S3Storage } from '@framewise/storage';
import { createTestBucket, type TestBucket } from '@framewise/testing';
import { testApp, type TestApp } from '../testing/app.spec-helper';
import {
  makeVideo,
  startInfra,
  testExtractor,
  videoJob,
  type Infra,
} from '../testing/infra.spec-helper';

let infra: Infra;
let bucket: TestBucket;
let storage: S3Storage;
let api: TestApp;

beforeAll(async () => {
  infra = await startInfra('s3-pipeline');
  bucket = await createTestBucket('ingestion');
  storage = new S3Storage({ bucket: bucket.bucket, clientConfig: bucket.clientConfig });
  await storage.checkReady();
  const tmpDir = join(infra.workDir, 'tmp');
  await mkdir(tmpDir);
  api = testApp(infra, { tmpDir, storage });
});
afterAll(async () => {
  await api.close();
  storage.close();
  await bucket.destroy();
  await infra.close();
});

async function objectsUnder(prefix: string): Promise<string[]> {
  const keys: string[] = [];
  for await (const object of storage.listAll(prefix)) keys.push(object.key);
  return keys.sort();
}

it('uploads to S3, extracts from S3 into S3, serves frames from S3 and deletes them there', async () => {
  const file = await makeVideo(join(infra.workDir, 'clip.mp4'), { seconds: 2, fps: 10 });
  const uploaded = await request(api.app)
    .post('/v1/videos')
    .field('sampling', 'fps:5')
    .attach('file', file, 'clip.mp4')
    .expect(202);
  const id = (uploaded.body as { id: string }).id;
  expect(await storage.exists(originalKey(id, 'mp4'))).toBe(true);
  // Nothing went to the local volume.
  expect(await infra.storage.exists(originalKey(id, 'mp4'))).toBe(false);
  // The original in the bucket is the uploaded file, byte for byte.
  expect(
    Buffer.compare(await storage.getBuffer(originalKey(id, 'mp4')), await readFile(file)),
  ).toBe(0);

  const { extractor } = testExtractor(infra, { keyPrefix: infra.keyPrefix, batchSize: 3, storage });
  await extractor.handle(videoJob(id));

  const got = await request(api.app).get(`/v1/videos/${id}`).expect(200);
  expect(got.body).toMatchObject({
    status: 'detecting',
    progress: { expected: 10, extracted: 10 },
    probe: { width: 160, height: 120, fps: 10 },
  });
  const expectedKeys = Array.from({ length: 10 }, (_, i) => frameKey(id, i)).sort();
  expect(await objectsUnder(framesPrefix(id))).toEqual(expectedKeys);
  const rows = await infra.db
    .selectFrom('frames')
    .where('video_id', '=', id)
    .select(['frame_index', 'storage_key'])
    .orderBy('frame_index')
    .execute();
  expect(rows.map((r) => r.storage_key)).toEqual(
    Array.from({ length: 10 }, (_, i) => frameKey(id, i)),
  );
  const queued = await new QueueAdmin(
    frameQueue({ keyPrefix: infra.keyPrefix }),
    infra.redis,
  ).depths();
  expect(queued.pending).toBe(10);

  const frame = await request(api.app).get(`/v1/videos/${id}/frames/7`).expect(200);
  expect(frame.headers['content-type']).toBe('image/jpeg');
  expect(Buffer.compare(frame.body as Buffer, await storage.getBuffer(frameKey(id, 7)))).toBe(0);

  await request(api.app).delete(`/v1/videos/${id}`).expect(200);
  expect(await objectsUnder(`videos/${id}/`)).toEqual([]);
});
