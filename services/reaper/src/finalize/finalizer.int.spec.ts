import { Redis } from 'ioredis';
import type { Kysely } from 'kysely';
import { parseVideoEvent, videoEventsChannel } from '@framewise/contracts';
import type { VideoEvent } from '@framewise/contracts';
import type { Database } from '@framewise/db';
import { ResultRepository, VideoRepository } from '@framewise/db';
import { createLogger } from '@framewise/observability';
import { sharedInfra, uniqueKeyPrefix } from '@framewise/testing';
import { detectingVideo, withReaperBackends } from '../testing.spec-helper';
import { Finalizer } from './finalizer';

let db: Kysely<Database>;
let redis: Redis;
let subscriber: Redis;
const logger = createLogger({ service: 'reaper-test', level: 'silent' });

withReaperBackends((b) => ({ db, redis } = b));

beforeAll(() => {
  subscriber = new Redis(sharedInfra().redisUrl);
});

afterAll(() => {
  subscriber.disconnect();
});

it('finalizes finished videos once, with their completion time and an event; leaves open ones', async () => {
  const prefix = uniqueKeyPrefix();
  const results = new ResultRepository(db);
  const videos = new VideoRepository(db);
  const done = await detectingVideo(db, 3);
  const withErrors = await detectingVideo(db, 3);
  const open = await detectingVideo(db, 3);
  const result = (videoId: string, model: string, frameIndex: number) => ({
    videoId,
    frameIndex,
    model,
    detections: [],
  });
  await results.insertResults([0, 1, 2].map((i) => result(done.videoId, done.model, i)));
  await results.insertResults([0, 2].map((i) => result(withErrors.videoId, withErrors.model, i)));
  await results.recordFailures([
    {
      videoId: withErrors.videoId,
      frameIndex: 1,
      model: withErrors.model,
      errorCode: 'frame_corrupt',
      errorMessage: 'bad',
    },
  ]);
  await results.insertResults([0, 1].map((i) => result(open.videoId, open.model, i)));

  const events: VideoEvent[] = [];
  await subscriber.subscribe(
    videoEventsChannel(prefix, done.videoId),
    videoEventsChannel(prefix, withErrors.videoId),
  );
  subscriber.on('message', (_channel: string, message: string) => {
    const event = parseVideoEvent(message);
    if (event) events.push(event);
  });

  // Two reapers racing: the compare-and-set lets exactly one finalize each video.
  const [a, b] = await Promise.all([
    new Finalizer(videos, redis, prefix, logger).runOnce(),
    new Finalizer(videos, redis, prefix, logger).runOnce(),
  ]);
  expect(a.completed + b.completed).toBe(1);
  expect(a.completedWithErrors + b.completedWithErrors).toBe(1);

  expect(await videos.get(done.videoId)).toMatchObject({ status: 'completed' });
  expect((await videos.get(done.videoId)).completedAt).toBeInstanceOf(Date);
  expect(await videos.get(withErrors.videoId)).toMatchObject({ status: 'completed_with_errors' });
  expect(await videos.get(open.videoId)).toMatchObject({ status: 'detecting', completedAt: null });

  const deadline = Date.now() + 5000;
  while (events.length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  expect(events.map((e) => [e.videoId, e.status]).sort()).toEqual(
    [
      [done.videoId, 'completed'],
      [withErrors.videoId, 'completed_with_errors'],
    ].sort(),
  );
  expect(events.find((e) => e.videoId === withErrors.videoId)?.progress).toEqual({
    expected: 3,
    extracted: 3,
    detected: 2,
    failed: 1,
  });
});
