import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import type { Kysely } from 'kysely';
import { frameQueue, videoQueue } from '@framewise/contracts';
import type { Database } from '@framewise/db';
import { ResultRepository, VideoRepository } from '@framewise/db';
import { Registry, createLogger } from '@framewise/observability';
import { PermanentJobError, QueueAdmin, QueueConsumer, QueueProducer } from '@framewise/queue';
import { sharedInfra, uniqueKeyPrefix } from '@framewise/testing';
import { detectingVideo, withReaperBackends } from '../testing.spec-helper';
import { parseAofEnabled, registerSystemMetrics } from './system-metrics';

let db: Kysely<Database>;
let redis: Redis;
const logger = createLogger({ service: 'reaper-test', level: 'silent' });

withReaperBackends((b) => ({ db, redis } = b));

/** One sample's value from a registry, or undefined when the series is absent. */
async function sample(
  registry: Registry,
  name: string,
  labels: Record<string, string>,
): Promise<number | undefined> {
  const metric = (await registry.getMetricsAsJSON()).find((m) => m.name === name);
  const values = (
    metric as { values?: { labels: Record<string, unknown>; value: number }[] } | undefined
  )?.values;
  return values?.find((v) => Object.entries(labels).every(([k, want]) => v.labels[k] === want))
    ?.value;
}

it('exports queue states, the oldest pending age, consumers, AOF and open videos from Redis and Postgres', async () => {
  const keyPrefix = uniqueKeyPrefix();
  const frames = frameQueue({ keyPrefix, maxDeliveries: 3 });
  const videos = videoQueue({ keyPrefix });
  const video = await detectingVideo(db, 4);
  await new ResultRepository(db).insertResults(
    [0, 1].map((frameIndex) => ({
      videoId: video.videoId,
      frameIndex,
      model: video.model,
      detections: [],
    })),
  );

  await new QueueProducer(frames, redis).enqueue(video.jobs);
  await new QueueProducer(videos, redis).enqueue([{ data: { videoId: video.videoId } }]);
  // A live consumer holding one job, and one dead-lettered job.
  const consumer = new QueueConsumer(frames, redis, { consumerId: 'live-worker' });
  await consumer.start();
  const claimed = await consumer.claim(2);
  const [held, poison] = claimed.jobs;
  expect(held && poison).toBeTruthy();
  await consumer.fail(poison!, new PermanentJobError('unreadable frame'));
  // A consumer that registered and died: its heartbeat is gone, the reaper has not run yet.
  await redis.sadd(frames.keys.consumers, 'dead-worker');
  await sleep(1100);

  const registry = new Registry();
  registerSystemMetrics(registry, {
    queues: { videos: new QueueAdmin(videos, redis), frames: new QueueAdmin(frames, redis) },
    redis,
    videos: new VideoRepository(db),
    logger,
  });
  try {
    const jobs = (queue: string, state: string) =>
      sample(registry, 'framewise_queue_jobs', { queue, state });
    expect(await jobs('frames', 'pending')).toBe(2);
    expect(await jobs('frames', 'processing')).toBe(1);
    expect(await jobs('frames', 'dead')).toBe(1);
    expect(await jobs('frames', 'delayed')).toBe(0);
    expect(await jobs('videos', 'pending')).toBe(1);

    const age = await sample(registry, 'framewise_queue_oldest_pending_age_seconds', {
      queue: 'frames',
    });
    expect(age).toBeGreaterThanOrEqual(1);
    expect(age).toBeLessThan(60);

    const consumers = (state: string) =>
      sample(registry, 'framewise_queue_consumers', { queue: 'frames', state });
    expect(await consumers('alive')).toBe(1);
    expect(await consumers('expired')).toBe(1);

    // The shared test Redis runs with AOF on (libs/testing starts it so).
    expect(await sample(registry, 'framewise_redis_aof_enabled', {})).toBe(1);

    const frameState = (state: string) =>
      sample(registry, 'framewise_video_frames', { video_id: video.videoId, state });
    expect(await frameState('expected')).toBe(4);
    expect(await frameState('extracted')).toBe(4);
    expect(await frameState('done')).toBe(2);
    expect(await frameState('failed')).toBe(0);

    // A finished video leaves the per-video series at the next scrape.
    await new VideoRepository(db).transition(video.videoId, 'completed');
    expect(await frameState('done')).toBeUndefined();
  } finally {
    consumer.stop();
  }
});

it('drops a source’s series and counts the failure when the source cannot be read', async () => {
  const keyPrefix = uniqueKeyPrefix();
  const broken = new Redis(sharedInfra().redisUrl, { lazyConnect: true });
  broken.disconnect();
  const registry = new Registry();
  registerSystemMetrics(registry, {
    queues: {
      videos: new QueueAdmin(videoQueue({ keyPrefix }), broken),
      frames: new QueueAdmin(frameQueue({ keyPrefix }), broken),
    },
    redis: broken,
    videos: new VideoRepository(db),
    logger,
  });
  // prom-client must still render the page: a broken source never fails the scrape.
  const text = await registry.metrics();
  expect(text).not.toMatch(/^framewise_queue_jobs\{/m);
  expect(text).toMatch(/^framewise_redis_aof_enabled NaN$/im);
  // prom-client collects the metrics of one scrape concurrently, so the counter is read from a
  // second scrape: by then the first one's failures (three queue gauges, Redis INFO) are in.
  const again = await registry.metrics();
  const errors = (source: string) =>
    Number(
      new RegExp(`^framewise_system_scrape_errors_total\\{source="${source}"\\} (\\d+)$`, 'm').exec(
        again,
      )?.[1],
    );
  expect(errors('queues')).toBeGreaterThanOrEqual(3);
  expect(errors('redis')).toBeGreaterThanOrEqual(1);
  expect(errors('videos')).toBe(0);
});

it('reads aof_enabled from INFO persistence', () => {
  expect(parseAofEnabled('# Persistence\r\nloading:0\r\naof_enabled:1\r\n')).toBe(true);
  expect(parseAofEnabled('# Persistence\r\naof_enabled:0\r\n')).toBe(false);
  expect(parseAofEnabled('# Persistence\r\nloading:0\r\n')).toBeUndefined();
});
