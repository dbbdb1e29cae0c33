import { Redis } from 'ioredis';
import type { Kysely } from 'kysely';
import { frameQueue } from '@framewise/contracts';
import type { Database } from '@framewise/db';
import { FrameRepository, ResultRepository } from '@framewise/db';
import { createLogger } from '@framewise/observability';
import { PermanentJobError, QueueConsumer, QueueProducer } from '@framewise/queue';
import { deleteKeysWithPrefix, sharedInfra, uniqueKeyPrefix } from '@framewise/testing';
import { detectingVideo, reaperDatabase } from '../testing.spec-helper';
import { Reconciler } from './reconciler';

let db: Kysely<Database>;
let close: () => Promise<void>;
let redis: Redis;
const logger = createLogger({ service: 'reaper-test', level: 'silent' });
const GRACE_MS = 60_000;

beforeAll(async () => {
  ({ db, close } = await reaperDatabase());
  redis = new Redis(sharedInfra().redisUrl);
});

afterAll(async () => {
  redis.disconnect();
  await close();
});

function reconciler(prefix: string) {
  const queue = frameQueue({ keyPrefix: prefix });
  return new Reconciler(new FrameRepository(db), new ResultRepository(db), queue, redis, logger, {
    graceMs: GRACE_MS,
    pageSize: 3, // several pages
    scanChunk: 2, // several chunks per list
    lockKey: `${prefix}{frames}:reconcile-lock`,
    lockTtlMs: 10_000,
  });
}

it('re-enqueues only frames in no queue list, records dead letters, and respects the grace period', async () => {
  const prefix = uniqueKeyPrefix();
  const queue = frameQueue({ keyPrefix: prefix });
  const video = await detectingVideo(db, 8);
  const [j0, j1, j2, j3, j4, j5, j6] = video.jobs;
  if (!j0 || !j1 || !j2 || !j3 || !j4 || !j5 || !j6) throw new Error('fixture');
  const producer = new QueueProducer(queue, redis);
  await producer.enqueue([j0, j1, j2, j3]);
  // j0 claimed (processing list of a live consumer), j1 failed retryably (delayed),
  // j2 dead-lettered, j3 pending; j4 has a result; j5..j7 are in no list at all.
  const consumer = new QueueConsumer(queue, redis, { prefetch: 10 });
  await consumer.start();
  const claimed = (await consumer.claim(3)).jobs;
  const byId = new Map(claimed.map((j) => [j.id, j]));
  await consumer.fail(byId.get(j1.id)!, new Error('flaky'));
  await consumer.fail(byId.get(j2.id)!, new PermanentJobError('poison'));
  await new ResultRepository(db).insertResults([
    { videoId: video.videoId, frameIndex: 4, model: video.model, detections: [] },
  ]);

  // Within the grace period: nothing happens.
  expect((await reconciler(prefix).runOnce()).examined).toBe(0);

  const later = new Date(Date.now() + GRACE_MS + 1000);
  const report = await reconciler(prefix).runOnce(later);
  expect(report).toMatchObject({ ran: true, examined: 7, reenqueued: 3, deadLetteredRecorded: 1 });
  const pending = (await redis.lrange(queue.keys.pending, 0, -1)).map(
    (p) => (JSON.parse(p) as { id: string }).id,
  );
  expect(pending.sort()).toEqual([j3.id, j5.id, j6.id, video.jobs[7]?.id].sort());
  const failure = await db
    .selectFrom('frame_failures')
    .select(['frame_index', 'error_code', 'error_message'])
    .where('video_id', '=', video.videoId)
    .execute();
  expect(failure).toEqual([
    { frame_index: 2, error_code: 'dead_lettered', error_message: 'PermanentJobError: poison' },
  ]);

  // A second pass finds every remaining frame in a list: nothing twice.
  expect(await reconciler(prefix).runOnce(later)).toMatchObject({
    reenqueued: 0,
    deadLetteredRecorded: 0,
  });
  consumer.stop();
  await deleteKeysWithPrefix(redis, prefix);
});

it('lets one of two racing reapers reconcile, so no frame is enqueued twice', async () => {
  const prefix = uniqueKeyPrefix();
  const queue = frameQueue({ keyPrefix: prefix });
  await detectingVideo(db, 20);
  const later = new Date(Date.now() + GRACE_MS + 1000);
  const reports = await Promise.all([
    reconciler(prefix).runOnce(later),
    reconciler(prefix).runOnce(later),
    reconciler(prefix).runOnce(later),
  ]);
  expect(reports.filter((r) => r.ran)).toHaveLength(1);
  const ids = (await redis.lrange(queue.keys.pending, 0, -1)).map(
    (p) => (JSON.parse(p) as { id: string }).id,
  );
  // Other tests' videos in this database are re-enqueued too; what matters is: no duplicates.
  expect(new Set(ids).size).toBe(ids.length);
  expect(ids.length).toBeGreaterThanOrEqual(20);
  await deleteKeysWithPrefix(redis, prefix);
});
