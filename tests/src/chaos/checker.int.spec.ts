import { Redis } from 'ioredis';
import type { Kysely } from 'kysely';
import { frameKey, frameQueue, videoQueue } from '@framewise/contracts';
import type { Database, Detection } from '@framewise/db';
import {
  FrameRepository,
  ResultRepository,
  VideoRepository,
  createDatabase,
  migratedTemplate,
} from '@framewise/db';
import type { TestDatabase } from '@framewise/testing';
import {
  createTestDatabase,
  deleteKeysWithPrefix,
  sharedInfra,
  uniqueKeyPrefix,
} from '@framewise/testing';
import { judge, observeVideos, queueLeftovers } from './checker';

let database: TestDatabase;
let db: Kysely<Database>;
let redis: Redis;

beforeAll(async () => {
  database = await createTestDatabase({ template: migratedTemplate() });
  db = createDatabase({ url: database.url, maxConnections: 2 });
  redis = new Redis(sharedInfra().redisUrl);
});

afterAll(async () => {
  redis.disconnect();
  await db.destroy();
  await database.drop();
});

const square = (x: number): Detection => ({
  class: 'red_square',
  classId: 0,
  score: 1,
  box: [x, 0, x + 10, 10],
});

async function video(filename: string, manifest: number) {
  const videos = new VideoRepository(db);
  const row = await videos.create({
    originalFilename: filename,
    contentType: 'video/mp4',
    sizeBytes: 1,
    storageKey: `videos/${filename}`,
    sampling: { kind: 'all' },
    modelName: 'red-square',
    modelVersion: '1',
  });
  await videos.transition(row.id, 'extracting');
  await new FrameRepository(db).insertManifest(
    row.id,
    Array.from({ length: manifest }, (_, i) => ({
      index: i,
      timeMs: i * 100,
      storageKey: frameKey(row.id, i),
    })),
  );
  return row;
}

it('counts lost, duplicated and wrong frames from the rows, and unfinished videos', async () => {
  // a.mp4: ffprobe says 4 frames of 2 squares. Manifest 0..4 (4 is one frame too many);
  // 0 right; 1 has one square only (wrong); 2 has a result AND a failure (duplicated);
  // 3 has no outcome (lost). Still `extracting`.
  const a = await video('a.mp4', 5);
  const results = new ResultRepository(db);
  await results.insertResults([
    { videoId: a.id, frameIndex: 0, model: a.model, detections: [square(0), square(20)] },
    { videoId: a.id, frameIndex: 1, model: a.model, detections: [square(0)] },
    { videoId: a.id, frameIndex: 2, model: a.model, detections: [square(0), square(20)] },
    { videoId: a.id, frameIndex: 4, model: a.model, detections: [square(0), square(20)] },
  ]);
  await results.recordFailures([
    {
      videoId: a.id,
      frameIndex: 2,
      model: a.model,
      errorCode: 'frame_corrupt',
      errorMessage: 'x',
      workerId: null,
    },
  ]);
  // c.mp4: complete and finished, one frame a recorded failure.
  const c = await video('c.mp4', 2);
  await results.insertResults([
    { videoId: c.id, frameIndex: 0, model: c.model, detections: [square(0)] },
  ]);
  await results.recordFailures([
    {
      videoId: c.id,
      frameIndex: 1,
      model: c.model,
      errorCode: 'x',
      errorMessage: 'x',
      workerId: null,
    },
  ]);
  const videos = new VideoRepository(db);
  await videos.transition(c.id, 'detecting', { extractedFrames: 2 });
  await videos.transition(c.id, 'completed_with_errors');

  const expected = [
    { filename: 'a.mp4', frames: 4, squares: 2 },
    { filename: 'b.mp4', frames: 3, squares: 1 }, // never uploaded: all 3 lost
    { filename: 'c.mp4', frames: 2, squares: 1 },
  ];
  const observed = await observeVideos(db, expected);
  expect(observed.map((o) => [o.filename, o.status])).toEqual([
    ['a.mp4', 'extracting'],
    ['c.mp4', 'completed_with_errors'],
  ]);
  expect(observed[0]).toMatchObject({
    manifestInRange: 4,
    manifestExtra: 1,
    noOutcome: 1,
    extraOutcomes: 1,
    results: 4,
    failures: 1,
    wrongResults: 1,
  });

  const report = judge(expected, observed, { live: 0, dead: 0 });
  expect(report).toMatchObject({
    videos: 2,
    videos_finished: 1,
    videos_missing: ['b.mp4'],
    frames_expected: 9,
    frames_in_manifest: 7,
    results: 5,
    failures: 2,
    lost: 1 + 3,
    duplicated: 1 + 1,
    wrong_results: 1,
    ok: false,
  });
  expect(report.videos_unfinished).toEqual([`a.mp4 ${a.id} extracting`]);

  // Only c.mp4 expected: everything holds.
  const clean = judge(
    [{ filename: 'c.mp4', frames: 2, squares: 1 }],
    observed.filter((o) => o.filename === 'c.mp4'),
    { live: 0, dead: 1 },
  );
  expect(clean).toMatchObject({ lost: 0, duplicated: 0, wrong_results: 0, ok: true });
  // A job still queued fails the run.
  expect(
    judge([{ filename: 'c.mp4', frames: 2, squares: 1 }], observed.slice(1), { live: 1, dead: 0 })
      .ok,
  ).toBe(false);
});

it('finds jobs left in pending, delayed and any processing list, registered or not', async () => {
  const prefix = uniqueKeyPrefix();
  try {
    const frames = frameQueue({ keyPrefix: prefix }).keys;
    const videos = videoQueue({ keyPrefix: prefix }).keys;
    expect(await queueLeftovers(redis, prefix)).toEqual({ live: 0, dead: 0 });
    await redis.lpush(frames.pending, 'a', 'b');
    await redis.lpush(frames.processing('gone-consumer'), 'c'); // not in the consumers set
    await redis.zadd(frames.delayed, 1, 'd');
    await redis.lpush(videos.processing('x'), 'e');
    await redis.lpush(frames.dead, 'f');
    expect(await queueLeftovers(redis, prefix)).toEqual({ live: 5, dead: 1 });
  } finally {
    await deleteKeysWithPrefix(redis, prefix);
  }
});
