import { Redis } from 'ioredis';
import type { Kysely } from 'kysely';
import type { Database } from '@framewise/db';
import { ResultRepository, VideoRepository } from '@framewise/db';
import type { DetectItem, DetectOutcome, Detector, ImageInput } from '@framewise/detector';
import { OnnxYoloDetector } from '@framewise/detector';
import { createMetricsRegistry, createLogger } from '@framewise/observability';
import { QueueAdmin, QueueConsumer, QueueReaper } from '@framewise/queue';
import { LocalVolumeStorage } from '@framewise/storage';
import { deleteKeysWithPrefix, sharedInfra, uniqueKeyPrefix } from '@framewise/testing';
import { framesPrefix } from '@framewise/contracts';
import { FrameReader } from '../frames/frame-reader';
import { WorkerMetrics } from '../metrics/worker-metrics';
import {
  exactlyOnce,
  expectedBox,
  frameOutcomes,
  migratedDatabase,
  seedVideo,
  testQueue,
  waitFor,
  workspace,
} from '../testing/pipeline.spec-helper';
import { DetectionWorker } from './detection-worker';
import type { VideoStatusSource } from './detection-worker';

let db: Kysely<Database>;
let closeDb: () => Promise<void>;
let redis: Redis;
let space: Awaited<ReturnType<typeof workspace>>;
let detector: OnnxYoloDetector;
let storage: LocalVolumeStorage;
const logger = createLogger({ service: 'worker-test', level: 'silent' });

beforeAll(async () => {
  ({ db, close: closeDb } = await migratedDatabase());
  redis = new Redis(sharedInfra().redisUrl);
  space = await workspace();
  storage = new LocalVolumeStorage({ root: space.storageRoot });
  detector = await OnnxYoloDetector.load({ model: { path: space.modelPath }, maxBatch: 4 });
});

afterAll(async () => {
  await detector.close();
  redis.disconnect();
  await closeDb();
  await space.remove();
});

function iou(a: readonly number[], b: readonly number[]): number {
  const [ax1 = 0, ay1 = 0, ax2 = 0, ay2 = 0] = a;
  const [bx1 = 0, by1 = 0, bx2 = 0, by2 = 0] = b;
  const w = Math.max(0, Math.min(ax2, bx2) - Math.max(ax1, bx1));
  const h = Math.max(0, Math.min(ay2, by2) - Math.max(ay1, by1));
  const inter = w * h;
  return inter / ((ax2 - ax1) * (ay2 - ay1) + (bx2 - bx1) * (by2 - by1) - inter);
}

/**
 * The real detector with a fault injected at its boundary: `beforeOutcome` runs before each
 * outcome of a stream comes out. Everything around it (queue, storage, Postgres, the model)
 * is real.
 */
abstract class WrappedDetector implements Detector {
  constructor(private readonly inner: Detector) {}
  get model() {
    return this.inner.model;
  }
  detect(image: ImageInput) {
    return this.inner.detect(image);
  }
  detectBatch(images: readonly ImageInput[]) {
    return this.inner.detectBatch(images);
  }
  async *detectMany<T extends DetectItem>(
    source: AsyncIterable<T> | Iterable<T>,
  ): AsyncGenerator<DetectOutcome<T>, void, undefined> {
    for await (const outcome of this.inner.detectMany(source)) {
      await this.beforeOutcome();
      yield outcome;
    }
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
  protected abstract beforeOutcome(): Promise<void>;
}

/**
 * The real detector, until `lose()`: from then on every stream fails the way a lost GPU or
 * a crashed session does (an error that is not about one image).
 */
class LosableDetector extends WrappedDetector {
  private lost = false;
  lose(): void {
    this.lost = true;
  }
  protected beforeOutcome(): Promise<void> {
    if (this.lost) return Promise.reject(new Error('CUDA error: device lost (injected)'));
    return Promise.resolve();
  }
}

/**
 * The real detector, which cancels a video (as the API does: the status) right before its
 * first outcome comes out: every batch in hand is then written after the cancel.
 */
class CancelingDetector extends WrappedDetector {
  videoId: string | undefined;
  protected async beforeOutcome(): Promise<void> {
    if (this.videoId === undefined) return;
    await new VideoRepository(db).transition(this.videoId, 'canceled');
    this.videoId = undefined;
  }
}

/** A worker on a fresh queue prefix, as main.ts wires it. */
function makeWorker(
  prefix: string,
  batchSize = 4,
  options: {
    detector?: Detector;
    onFatal?: (error: unknown) => void;
    videos?: VideoStatusSource;
    statusTtlMs?: number;
  } = {},
) {
  const queue = testQueue(prefix);
  const metrics = new WorkerMetrics(
    createMetricsRegistry({ service: 'worker-test', processMetrics: false }),
  );
  const consumer = new QueueConsumer(queue, redis, { prefetch: batchSize * 4 });
  const worker = new DetectionWorker(
    consumer,
    options.detector ?? detector,
    new FrameReader(storage),
    options.videos ?? new VideoRepository(db),
    new ResultRepository(db),
    metrics,
    logger,
    {
      batchSize,
      workerId: consumer.id,
      blockTimeoutMs: 200,
      retry: { baseMs: 20, maxMs: 200 },
      maxDetectorFailures: 3,
      ...(options.onFatal === undefined ? {} : { onFatal: options.onFatal }),
      ...(options.statusTtlMs === undefined ? {} : { statusTtlMs: options.statusTtlMs }),
    },
  );
  return { queue, metrics, worker, admin: new QueueAdmin(queue, redis) };
}

describe('DetectionWorker', () => {
  it('takes frame jobs to result rows: claim, read, detect, one write per batch, ack', async () => {
    const prefix = uniqueKeyPrefix();
    // Counts the status reads before each batch: a status seen lately (by a read or a write's
    // answer) is reused, so within a long time to live each video is read at most once.
    const queried: string[] = [];
    const repository = new VideoRepository(db);
    const videos: VideoStatusSource = {
      statuses: (ids) => {
        queried.push(...ids);
        return repository.statuses(ids);
      },
    };
    const { queue, metrics, worker, admin } = makeWorker(prefix, 4, {
      videos,
      statusTtlMs: 60_000,
    });
    const a = await seedVideo({ db, storage, queue, redis, frames: 9 });
    // b's frames are stored at a third of the video's size: results are in the video's pixels.
    const b = await seedVideo({ db, storage, queue, redis, frames: 6, downscaledBy: 3 });
    await worker.start();
    try {
      await waitFor('every frame detected', async () => {
        const all = [
          ...(await frameOutcomes(db, a.videoId)),
          ...(await frameOutcomes(db, b.videoId)),
        ];
        return exactlyOnce(all);
      });
      await waitFor('every job acked', async () => {
        const d = await admin.depths();
        return d.pending + d.processing + d.delayed === 0;
      });
    } finally {
      expect((await worker.close({ deadlineMs: 5000 })).drained).toBe(true);
    }
    const rows = await db
      .selectFrom('frame_results')
      .selectAll()
      .where('video_id', 'in', [a.videoId, b.videoId])
      .execute();
    expect(rows).toHaveLength(15);
    for (const row of rows) {
      expect(row.model).toBe('red-square@1');
      expect(row.detections).toHaveLength(1);
      const [d] = row.detections;
      expect(d).toMatchObject({ class: 'red_square', classId: 0, score: 1 });
      const scale = row.video_id === b.videoId ? 3 : 1;
      const truth = expectedBox(row.frame_index).map((v) => v * scale);
      expect(iou(d?.box ?? [], truth)).toBeGreaterThan(0.9);
      expect(row.class_counts).toEqual({ red_square: 1 });
    }
    expect((await admin.depths()).dead).toBe(0);
    expect((await metrics.framesDetected.get()).values[0]?.value).toBe(15);
    expect(queried.filter((id) => id === a.videoId)).toHaveLength(1);
    expect(queried.filter((id) => id === b.videoId)).toHaveLength(1);
    await deleteKeysWithPrefix(redis, prefix);
  });

  it('records a corrupt or missing frame as failed and dead-letters it; the rest completes', async () => {
    const prefix = uniqueKeyPrefix();
    const { queue, worker, admin } = makeWorker(prefix);
    const v = await seedVideo({ db, storage, queue, redis, frames: 8, corrupt: [2], missing: [5] });
    await worker.start();
    try {
      await waitFor('every frame settled', async () =>
        exactlyOnce(await frameOutcomes(db, v.videoId)),
      );
      await waitFor('queue empty', async () => {
        const d = await admin.depths();
        return d.pending + d.processing + d.delayed === 0;
      });
    } finally {
      await worker.close({ deadlineMs: 5000 });
    }
    const outcomes = await frameOutcomes(db, v.videoId);
    expect(outcomes.filter((o) => o.failures === 1).map((o) => o.frameIndex)).toEqual([2, 5]);
    const failures = await db
      .selectFrom('frame_failures')
      .select(['frame_index', 'error_code'])
      .where('video_id', '=', v.videoId)
      .orderBy('frame_index')
      .execute();
    expect(failures).toEqual([
      { frame_index: 2, error_code: 'frame_corrupt' },
      { frame_index: 5, error_code: 'frame_missing' },
    ]);
    const dead = await admin.listDead({ limit: 10 });
    expect(dead).toHaveLength(2);
    expect(dead.every((d) => d.permanent)).toBe(true);
    expect((await new VideoRepository(db).findFinishable()).map((f) => f.videoId)).toContain(
      v.videoId,
    );
    await deleteKeysWithPrefix(redis, prefix);
  });

  it('drops jobs of a video canceled during detection: no failures, nothing twice', async () => {
    const prefix = uniqueKeyPrefix();
    const { queue, worker, admin } = makeWorker(prefix, 2);
    const canceled = await seedVideo({ db, storage, queue, redis, frames: 40 });
    const kept = await seedVideo({ db, storage, queue, redis, frames: 10 });
    const videos = new VideoRepository(db);
    await worker.start();
    try {
      await waitFor('detection under way', async () =>
        (await frameOutcomes(db, canceled.videoId)).some((o) => o.results > 0),
      );
      // What the API does on cancel: status, pending jobs, files.
      await videos.transition(canceled.videoId, 'canceled');
      await admin.removePendingGroup(canceled.videoId);
      await storage.deleteByPrefix(framesPrefix(canceled.videoId));
      await waitFor('kept video detected', async () =>
        exactlyOnce(await frameOutcomes(db, kept.videoId)),
      );
      await waitFor('queue empty', async () => {
        const d = await admin.depths();
        return d.pending + d.processing + d.delayed === 0;
      });
    } finally {
      await worker.close({ deadlineMs: 5000 });
    }
    const outcomes = await frameOutcomes(db, canceled.videoId);
    expect(outcomes.every((o) => o.failures === 0 && o.results <= 1)).toBe(true);
    expect(outcomes.some((o) => o.results === 0)).toBe(true); // it really was canceled mid-way
    expect((await admin.depths()).dead).toBe(0);
    await deleteKeysWithPrefix(redis, prefix);
  });

  it('writes nothing for batches whose video is canceled while they are detected', async () => {
    const prefix = uniqueKeyPrefix();
    const canceling = new CancelingDetector(detector);
    const { queue, metrics, worker, admin } = makeWorker(prefix, 4, { detector: canceling });
    const v = await seedVideo({ db, storage, queue, redis, frames: 12 });
    canceling.videoId = v.videoId;
    await worker.start();
    try {
      await waitFor('queue empty', async () => {
        const d = await admin.depths();
        return d.pending + d.processing + d.delayed === 0;
      });
    } finally {
      await worker.close({ deadlineMs: 5000 });
    }
    expect(canceling.videoId).toBeUndefined(); // the cancel happened
    // The batches read before the cancel were detected, then dropped at their write (the
    // statement re-checks the status); later ones were dropped before reading.
    const outcomes = await frameOutcomes(db, v.videoId);
    expect(outcomes.every((o) => o.results === 0 && o.failures === 0)).toBe(true);
    expect((await metrics.framesDropped.get()).values[0]?.value).toBe(12);
    expect((await metrics.framesDetected.get()).values[0]?.value ?? 0).toBe(0);
    expect((await admin.depths()).dead).toBe(0);
    await deleteKeysWithPrefix(redis, prefix);
  });

  it('gives up when the detector keeps failing; the jobs in hand are retried, none lost', async () => {
    const prefix = uniqueKeyPrefix();
    const losable = new LosableDetector(detector);
    let fatal: unknown;
    const broken = makeWorker(prefix, 4, {
      detector: losable,
      onFatal: (error) => {
        fatal = error;
      },
    });
    const v = await seedVideo({ db, storage, queue: broken.queue, redis, frames: 48 });
    // The reaper's part: failed jobs wait in the delayed set until promoted.
    const reaper = new QueueReaper(broken.queue, redis);
    const promoting = setInterval(() => {
      void reaper.promoteDue();
    }, 50);
    await broken.worker.start();
    await waitFor('some frames detected', async () =>
      (await frameOutcomes(db, v.videoId)).some((o) => o.results > 0),
    );
    losable.lose();
    try {
      await waitFor('the worker to give up', () => Promise.resolve(fatal !== undefined));
    } finally {
      clearInterval(promoting);
    }
    expect(String(fatal)).toContain('device lost');
    const failed = (await broken.metrics.errors.get()).values.find(
      (x) => x.labels.kind === 'detector_failed',
    );
    expect(failed?.value).toBe(3);
    expect((await broken.worker.close({ deadlineMs: 2000 })).drained).toBe(true);
    // Nothing lost: what was not detected is waiting in the queue (pending or a retry), not
    // dead-lettered and not held by the stopped consumer; nothing was recorded as failed.
    const before = await frameOutcomes(db, v.videoId);
    const detected = before.filter((o) => o.results > 0).length;
    expect(detected).toBeLessThan(48);
    expect(before.every((o) => o.failures === 0)).toBe(true);
    const depths = await broken.admin.depths();
    expect(depths).toMatchObject({ processing: 0, dead: 0 });
    expect(depths.pending + depths.delayed).toBe(48 - detected);
    // A healthy worker (and the promotion of due retries) finishes the video exactly once.
    const healthy = makeWorker(prefix);
    await healthy.worker.start();
    try {
      await waitFor('every frame detected', async () => {
        await reaper.promoteDue();
        return (await frameOutcomes(db, v.videoId)).every((o) => o.results === 1);
      });
      expect(exactlyOnce(await frameOutcomes(db, v.videoId))).toBe(true);
    } finally {
      await healthy.worker.close({ deadlineMs: 5000 });
      await deleteKeysWithPrefix(redis, prefix);
    }
  });
});
