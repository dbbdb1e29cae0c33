import type { Redis } from 'ioredis';
import type { Kysely } from 'kysely';
import { frameJobEntry, frameKey, frameQueue } from '@framewise/contracts';
import type { Database } from '@framewise/db';
import { FrameRepository, ResultRepository } from '@framewise/db';
import { createLogger } from '@framewise/observability';
import { PermanentJobError, QueueConsumer, QueueProducer } from '@framewise/queue';
import { deleteKeysWithPrefix, uniqueKeyPrefix } from '@framewise/testing';
import { detectingVideo, reaperDatabase, withReaperBackends } from '../testing.spec-helper';
import { Reconciler } from './reconciler';

let db: Kysely<Database>;
let redis: Redis;
const logger = createLogger({ service: 'reaper-test', level: 'silent' });
const GRACE_MS = 60_000;

withReaperBackends((b) => ({ db, redis } = b));

function reconciler(prefix: string, on: Kysely<Database> = db, pageSize = 3, scanChunk = 2) {
  const queue = frameQueue({ keyPrefix: prefix });
  return new Reconciler(new FrameRepository(on), new ResultRepository(on), queue, redis, logger, {
    graceMs: GRACE_MS,
    pageSize, // default: several pages
    scanChunk, // default: several chunks per list
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

it('reads Redis in proportion to its candidates, not to the queue length', async () => {
  const own = await reaperDatabase(); // no other test's candidates
  const prefix = uniqueKeyPrefix();
  const queue = frameQueue({ keyPrefix: prefix });
  try {
    const video = await detectingVideo(own.db, 30);
    const producer = new QueueProducer(queue, redis);
    // The candidates' jobs are the oldest (the consume end); 3,000 newer jobs of frames that
    // are no candidates (not in the manifest) fill the rest of the list.
    await producer.enqueue(video.jobs);
    const filler = Array.from({ length: 3000 }, (_, i) =>
      frameJobEntry({
        ...video.jobs[0]!.data,
        frameIndex: 1000 + i,
        storageKey: frameKey(video.videoId, 1000 + i),
      }),
    );
    await producer.enqueue(filler);
    const later = new Date(Date.now() + GRACE_MS + 1000);
    const quiet = await reconciler(prefix, own.db, 500, 100).runOnce(later);
    expect(quiet).toMatchObject({ examined: 30, reenqueued: 0 });
    expect(quiet.entriesRead).toBeLessThanOrEqual(100); // one chunk, of 3,030 entries
    // One candidate's job lost: then, and only then, everything is read, and it is re-enqueued.
    const [payload] = await redis.lrange(queue.keys.pending, -1, -1);
    await redis.lrem(queue.keys.pending, 1, payload!);
    const lost = await reconciler(prefix, own.db, 500, 100).runOnce(later);
    expect(lost).toMatchObject({ examined: 30, reenqueued: 1 });
    expect(lost.entriesRead).toBeGreaterThanOrEqual(3029);
    expect(await redis.llen(queue.keys.pending)).toBe(3030);
  } finally {
    await deleteKeysWithPrefix(redis, prefix);
    await own.close();
  }
});
