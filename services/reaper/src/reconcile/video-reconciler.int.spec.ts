import type { Redis } from 'ioredis';
import type { Kysely } from 'kysely';
import { videoJobId, videoQueue } from '@framewise/contracts';
import type { Database } from '@framewise/db';
import { VideoRepository } from '@framewise/db';
import { createLogger } from '@framewise/observability';
import { PermanentJobError, QueueConsumer, QueueProducer } from '@framewise/queue';
import { deleteKeysWithPrefix, uniqueKeyPrefix } from '@framewise/testing';
import { withReaperBackends } from '../testing.spec-helper';
import { VideoReconciler } from './video-reconciler';

let db: Kysely<Database>;
let redis: Redis;
const logger = createLogger({ service: 'reaper-test', level: 'silent' });
const GRACE_MS = 60_000;

withReaperBackends((b) => ({ db, redis } = b));

async function uploadedVideo(): Promise<string> {
  const video = await new VideoRepository(db).create({
    originalFilename: 'v.mp4',
    contentType: 'video/mp4',
    sizeBytes: 1,
    storageKey: 'videos/x/original.mp4',
    sampling: { kind: 'all' },
    modelName: 'red-square',
    modelVersion: '1',
  });
  return video.id;
}

it('re-enqueues videos awaiting extraction whose job is in no list, fails dead-lettered ones, after the grace period', async () => {
  const prefix = uniqueKeyPrefix();
  const queue = videoQueue({ keyPrefix: prefix });
  const videos = new VideoRepository(db);
  try {
    const lost = await uploadedVideo(); // its job vanished with Redis
    const pending = await uploadedVideo(); // job waiting in pending
    const claimed = await uploadedVideo(); // job in an extractor's processing list
    await videos.transition(claimed, 'extracting');
    const poisoned = await uploadedVideo(); // job dead-lettered
    const lostMidway = await uploadedVideo(); // extracting, job vanished
    await videos.transition(lostMidway, 'extracting');
    const done = await uploadedVideo(); // past extraction: never touched
    await videos.transition(done, 'extracting');
    await videos.transition(done, 'detecting', { extractedFrames: 1 });

    const producer = new QueueProducer(queue, redis);
    const job = (videoId: string) => ({
      id: videoJobId(videoId),
      group: videoId,
      data: { videoId },
    });
    await producer.enqueue([job(poisoned), job(claimed)]);
    const consumer = new QueueConsumer(queue, redis, { prefetch: 10 });
    await consumer.start();
    const inHand = (await consumer.claim(2)).jobs;
    const poisonJob = inHand.find((j) => j.data.videoId === poisoned);
    if (poisonJob === undefined) throw new Error('fixture: poisoned job not claimed');
    await consumer.fail(poisonJob, new PermanentJobError('ffmpeg kept crashing'));
    await producer.enqueue([job(pending)]);

    const reconciler = new VideoReconciler(videos, queue, redis, logger, {
      graceMs: GRACE_MS,
      lockKey: `${prefix}{videos}:reconcile-lock`,
      lockTtlMs: 10_000,
      pageSize: 2, // several pages
      scanChunk: 1,
    });
    // Inside the grace period: nothing.
    expect(await reconciler.runOnce()).toEqual({
      ran: true,
      examined: 0,
      reenqueued: 0,
      failed: 0,
    });

    const later = new Date(Date.now() + 2 * GRACE_MS);
    expect(await reconciler.runOnce(later)).toEqual({
      ran: true,
      examined: 5,
      reenqueued: 2,
      failed: 1,
    });
    const pendingIds = (await redis.lrange(queue.keys.pending, 0, -1)).map(
      (p) => (JSON.parse(p) as { id: string }).id,
    );
    expect(pendingIds.sort()).toEqual([job(pending).id, job(lost).id, job(lostMidway).id].sort());
    expect(await videos.get(poisoned)).toMatchObject({
      status: 'failed',
      error: { code: 'extraction_dead_lettered' },
    });
    expect((await videos.get(claimed)).status).toBe('extracting');

    // The next pass finds every job where it should be: nothing more to do.
    expect(await reconciler.runOnce(later)).toMatchObject({
      examined: 4,
      reenqueued: 0,
      failed: 0,
    });
    consumer.stop();
  } finally {
    await deleteKeysWithPrefix(redis, prefix);
  }
});

it('lets one reaper at a time reconcile', async () => {
  const prefix = uniqueKeyPrefix();
  const lockKey = `${prefix}{videos}:reconcile-lock`;
  try {
    await redis.set(lockKey, 'someone-else', 'PX', 10_000);
    const reconciler = new VideoReconciler(
      new VideoRepository(db),
      videoQueue({ keyPrefix: prefix }),
      redis,
      logger,
      { graceMs: 0, lockKey, lockTtlMs: 10_000 },
    );
    expect((await reconciler.runOnce()).ran).toBe(false);
  } finally {
    await deleteKeysWithPrefix(redis, prefix);
  }
});
