import type { Kysely } from 'kysely';
import { sql } from 'kysely';
import {
  FrameGoneError,
  InvalidCursorError,
  InvalidTransitionError,
  VideoNotFoundError,
} from '../errors';
import { newVideoId } from '../ids';
import type { Database } from '../schema';
import { det, manifest, migratedDatabase, upload } from '../testing.spec-helper';
import { FrameRepository } from './frames.repository';
import type { FrameResult } from './results.repository';
import { ResultRepository, classCounts } from './results.repository';
import { VideoRepository } from './videos.repository';

let db: Kysely<Database>;
let close: () => Promise<void>;
let videos: VideoRepository;
let frames: FrameRepository;
let results: ResultRepository;

beforeAll(async () => {
  ({ db, close } = await migratedDatabase());
  videos = new VideoRepository(db);
  frames = new FrameRepository(db);
  results = new ResultRepository(db);
});

afterAll(async () => {
  await close();
});

function resultsFor(videoId: string, model: string, indexes: number[]): FrameResult[] {
  return indexes.map((i) => ({
    videoId,
    frameIndex: i,
    model,
    detections: [det('car'), det('person', 0.4)],
    inferenceMs: 12.5,
    workerId: 'w1',
  }));
}

/** How many rows of the video each table holds. */
async function rowsOf(videoId: string): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const table of ['frame_results', 'frame_failures', 'frames'] as const) {
    const row = await db
      .selectFrom(table)
      .where('video_id', '=', videoId)
      .select(sql<string>`count(*)`.as('n'))
      .executeTakeFirstOrThrow();
    out[table] = Number(row.n);
  }
  return out;
}

/**
 * Runs `hold` in a transaction and keeps it open while `then` starts on another connection;
 * commits once `then` is seen waiting for a lock (so the race really happened), and returns
 * what `then` returned (or its rejection).
 */
async function whileHolding<T>(
  hold: (trx: Kysely<Database>) => Promise<unknown>,
  then: () => Promise<T>,
): Promise<T> {
  let started!: () => void;
  const holding = new Promise<void>((resolve) => (started = resolve));
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  const transaction = db.transaction().execute(async (trx) => {
    await hold(trx);
    started();
    await released;
  });
  await holding;
  const result = then();
  result.catch(() => undefined); // observed by the caller
  try {
    await waitForLockWaiter();
  } finally {
    release();
    await transaction;
  }
  return result;
}

/** Resolves once some session of this database waits for a lock (fails after 10 s). */
async function waitForLockWaiter(): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const { rows } = await sql<{ n: string }>`
      SELECT count(*) AS n FROM pg_stat_activity
      WHERE datname = current_database() AND wait_event_type = 'Lock'
    `.execute(db);
    if (Number(rows[0]?.n) > 0) return;
    if (Date.now() > deadline) throw new Error('the second session never waited for a lock');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('VideoRepository', () => {
  it('creates a video with a uuid v7 and reads it back with every field', async () => {
    const created = await videos.create(upload({ sampling: { kind: 'everyNth', n: 5 } }));
    expect(created.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7/);
    expect(created).toMatchObject({
      status: 'uploaded',
      sizeBytes: 12_345_678,
      sampling: { kind: 'everyNth', n: 5 },
      cameraId: 'cam-1',
      model: 'yolo11n@8.3.0',
      probe: null,
      error: null,
      extractingAt: null,
    });
    expect(await videos.get(created.id)).toEqual(created);
    await expect(videos.get(newVideoId())).rejects.toThrow(VideoNotFoundError);
    expect(await videos.find(newVideoId())).toBeUndefined();
  });

  it('reads the statuses of several videos in one query, leaving out unknown ids', async () => {
    const a = await videos.create(upload());
    const b = await videos.create(upload());
    await videos.transition(b.id, 'canceled');
    const unknown = newVideoId();
    const statuses = await videos.statuses([a.id, b.id, a.id, unknown]);
    expect([...statuses.entries()].sort()).toEqual(
      [
        [a.id, 'uploaded'],
        [b.id, 'canceled'],
      ].sort(),
    );
    expect((await videos.statuses([])).size).toBe(0);
  });

  it('rejects a video sampled both by rate and every Nth frame', async () => {
    await expect(
      sql`INSERT INTO videos (id, original_filename, content_type, size_bytes, storage_key,
            sample_fps, sample_every_n, model_name, model_version)
          VALUES (${newVideoId()}, 'a', 'b', 1, 'k', 1, 2, 'm', 'v')`.execute(db),
    ).rejects.toThrow(/videos_sampling_check/);
  });

  it('moves through the lifecycle with a timestamp per transition, compare-and-set', async () => {
    const v = await videos.create(upload());
    const probed = await videos.recordProbe(
      v.id,
      { durationS: 10, fps: 25, width: 1920, height: 1080, codec: 'h264' },
      10,
    );
    expect(probed.probe).toEqual({
      durationS: 10,
      fps: 25,
      width: 1920,
      height: 1080,
      codec: 'h264',
    });
    expect(probed.expectedFrames).toBe(10);
    const extracting = await videos.transition(v.id, 'extracting');
    expect(extracting.extractingAt).toBeInstanceOf(Date);
    // A redelivered video job may restart extraction.
    await expect(videos.transition(v.id, 'extracting')).resolves.toMatchObject({
      status: 'extracting',
    });
    const detecting = await videos.transition(v.id, 'detecting', { extractedFrames: 9 });
    expect(detecting).toMatchObject({ status: 'detecting', extractedFrames: 9 });
    expect(detecting.detectingAt).toBeInstanceOf(Date);
    await expect(videos.transition(v.id, 'extracting')).rejects.toThrow(InvalidTransitionError);
    const done = await videos.transition(v.id, 'completed_with_errors');
    expect(done.completedAt).toBeInstanceOf(Date);
    await expect(videos.transition(v.id, 'canceled')).rejects.toThrow(
      `video ${v.id} cannot go from completed_with_errors to canceled`,
    );
    await expect(videos.transition(newVideoId(), 'canceled')).rejects.toThrow(VideoNotFoundError);
  });

  it('records why a video failed', async () => {
    const v = await videos.create(upload());
    const failed = await videos.transition(v.id, 'failed', {
      error: { code: 'probe_failed', message: 'not a video' },
    });
    expect(failed).toMatchObject({
      status: 'failed',
      error: { code: 'probe_failed', message: 'not a video' },
    });
    expect(failed.failedAt).toBeInstanceOf(Date);
  });

  it('lets exactly one of two racing transitions win', async () => {
    const v = await videos.create(upload());
    await videos.transition(v.id, 'extracting');
    await videos.transition(v.id, 'detecting');
    const outcomes = await Promise.allSettled([
      videos.transition(v.id, 'completed'),
      videos.transition(v.id, 'canceled'),
    ]);
    expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(1);
    expect(outcomes.filter((o) => o.status === 'rejected')).toHaveLength(1);
  });

  it('lists newest first with a keyset cursor and filters', async () => {
    const camera = `cam-list-${newVideoId()}`;
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      ids.push(
        (await videos.create(upload({ id: newVideoId(Date.now() + i), cameraId: camera }))).id,
      );
    }
    const first = await videos.list({ cameraId: camera, limit: 2 });
    expect(first.items.map((v) => v.id)).toEqual([ids[4], ids[3]]);
    const second = await videos.list({ cameraId: camera, limit: 2, cursor: first.nextCursor! });
    expect(second.items.map((v) => v.id)).toEqual([ids[2], ids[1]]);
    const third = await videos.list({ cameraId: camera, limit: 2, cursor: second.nextCursor! });
    expect(third.items.map((v) => v.id)).toEqual([ids[0]]);
    expect(third.nextCursor).toBeUndefined();
    await videos.transition(ids[0]!, 'canceled');
    const canceled = await videos.list({ cameraId: camera, status: 'canceled' });
    expect(canceled.items.map((v) => v.id)).toEqual([ids[0]]);
    await expect(videos.list({ cursor: 'bogus' })).rejects.toThrow(InvalidCursorError);
  });

  it('counts progress from result and failure rows, per model', async () => {
    const v = await videos.create(upload());
    await videos.recordProbe(
      v.id,
      { durationS: 5, fps: 1, width: 10, height: 10, codec: 'h264' },
      6,
    );
    await frames.insertManifest(v.id, manifest(5));
    await results.insertResults(resultsFor(v.id, v.model, [0, 1]));
    // A result of another model does not count for this video's progress.
    await results.insertResults(resultsFor(v.id, 'other@1', [2]));
    await results.recordFailures([
      {
        videoId: v.id,
        frameIndex: 3,
        model: v.model,
        errorCode: 'corrupt',
        errorMessage: 'bad jpeg',
      },
      // A failure later overtaken by a result counts as done, not failed.
      { videoId: v.id, frameIndex: 1, model: v.model, errorCode: 'corrupt', errorMessage: 'x' },
    ]);
    expect(await videos.progress(v.id)).toEqual({
      videoId: v.id,
      status: 'uploaded',
      expected: 6,
      extracted: 5,
      done: 2,
      failed: 1,
    });
    await videos.transition(v.id, 'extracting');
    await videos.transition(v.id, 'detecting', { extractedFrames: 5 });
    expect((await videos.progress(v.id)).expected).toBe(5);
    await expect(videos.progress(newVideoId())).rejects.toThrow(VideoNotFoundError);
  });

  it('deletes a video with its manifest, results and failures', async () => {
    const v = await videos.create(upload());
    await frames.insertManifest(v.id, manifest(3));
    await results.insertResults(resultsFor(v.id, v.model, [0]));
    await results.recordFailures([
      { videoId: v.id, frameIndex: 1, model: v.model, errorCode: 'e', errorMessage: 'm' },
    ]);
    expect(await videos.delete(v.id)).toBe(true);
    expect(await videos.delete(v.id)).toBe(false);
    for (const table of ['frames', 'frame_results', 'frame_failures'] as const) {
      const row = await db
        .selectFrom(table)
        .where('video_id', '=', v.id)
        .select(sql<string>`count(*)`.as('n'))
        .executeTakeFirstOrThrow();
      expect(Number(row.n)).toBe(0);
    }
  });

  it('finds videos whose every frame has a result or a permanent failure', async () => {
    const a = await videos.create(upload()); // all results
    const b = await videos.create(upload()); // results and one failure
    const c = await videos.create(upload()); // one frame open
    const d = await videos.create(upload()); // complete but still extracting
    for (const v of [a, b, c, d]) {
      await frames.insertManifest(v.id, manifest(3));
      await videos.transition(v.id, 'extracting');
    }
    for (const v of [a, b, c]) await videos.transition(v.id, 'detecting', { extractedFrames: 3 });
    await results.insertResults([
      ...resultsFor(a.id, a.model, [0, 1, 2]),
      ...resultsFor(b.id, b.model, [0, 2]),
      ...resultsFor(c.id, c.model, [0, 1]),
      ...resultsFor(d.id, d.model, [0, 1, 2]),
    ]);
    await results.recordFailures([
      { videoId: b.id, frameIndex: 1, model: b.model, errorCode: 'e', errorMessage: 'm' },
    ]);
    const finishable = (await videos.findFinishable(1000)).filter((f) =>
      [a.id, b.id, c.id, d.id].includes(f.videoId),
    );
    expect(finishable).toEqual(
      [
        { videoId: a.id, frames: 3, done: 3, failed: 0 },
        { videoId: b.id, frames: 3, done: 2, failed: 1 },
      ].sort((x, y) => x.videoId.localeCompare(y.videoId)),
    );
  });
});

describe('FrameRepository', () => {
  it('inserts manifest batches idempotently and derives wall-clock time', async () => {
    const v = await videos.create(upload({ recordedAt: new Date('2025-03-01T12:00:00Z') }));
    expect(await frames.insertManifest(v.id, manifest(4))).toBe(4);
    expect(await frames.insertManifest(v.id, manifest(6))).toBe(2); // a restarted extractor
    expect(await frames.insertManifest(v.id, [])).toBe(0);
    expect(await frames.count(v.id)).toBe(6);
    const row = await db
      .selectFrom('frames')
      .selectAll()
      .where('video_id', '=', v.id)
      .where('frame_index', '=', 3)
      .executeTakeFirstOrThrow();
    expect(row).toMatchObject({ time_ms: 3000, storage_key: 'frames/3.jpg' });
    expect(row.recorded_at?.toISOString()).toBe('2025-03-01T12:00:03.000Z');
  });

  it('leaves wall-clock time empty when the upload gave no recorded_at', async () => {
    const v = await videos.create(upload({ recordedAt: null, cameraId: null }));
    await frames.insertManifest(v.id, manifest(1));
    const row = await db
      .selectFrom('frames')
      .selectAll()
      .where('video_id', '=', v.id)
      .executeTakeFirstOrThrow();
    expect(row.recorded_at).toBeNull();
  });

  it('finds frames of unfinished videos lacking a result or failure, after a grace period', async () => {
    const open = await videos.create(upload());
    const finished = await videos.create(upload());
    for (const v of [open, finished]) {
      await frames.insertManifest(v.id, manifest(4));
      await videos.transition(v.id, 'extracting');
    }
    await videos.transition(finished.id, 'canceled');
    await results.insertResults(resultsFor(open.id, open.model, [0]));
    await results.recordFailures([
      { videoId: open.id, frameIndex: 2, model: open.model, errorCode: 'e', errorMessage: 'm' },
    ]);
    const later = new Date(Date.now() + 60_000);
    const all = await frames.findWithoutResult({ createdBefore: later, videoId: open.id });
    expect(all.map((f) => f.frameIndex)).toEqual([1, 3]);
    expect(all[0]).toEqual({
      videoId: open.id,
      frameIndex: 1,
      timeMs: 1000,
      storageKey: 'frames/1.jpg',
      model: open.model,
    });
    // Once probed, each frame says the video's size (the reconciler's jobs carry it).
    await videos.recordProbe(
      open.id,
      { durationS: 4, fps: 1, width: 1920, height: 1080, codec: 'h264' },
      4,
    );
    const probed = await frames.findWithoutResult({ createdBefore: later, videoId: open.id });
    expect(probed[0]?.sourceSize).toEqual({ width: 1920, height: 1080 });
    // Still within the grace period: nothing is "lost" yet.
    expect(
      await frames.findWithoutResult({
        createdBefore: new Date(Date.now() - 60_000),
        videoId: open.id,
      }),
    ).toEqual([]);
    // Paging across every unfinished video: the canceled one never appears.
    const seen: string[] = [];
    let after: { videoId: string; frameIndex: number } | undefined;
    for (;;) {
      const page = await frames.findWithoutResult({
        createdBefore: later,
        limit: 1,
        ...(after ? { after } : {}),
      });
      const last = page.at(-1);
      if (!last) break;
      seen.push(`${last.videoId}:${last.frameIndex}`);
      after = { videoId: last.videoId, frameIndex: last.frameIndex };
    }
    expect(seen).toEqual(expect.arrayContaining([`${open.id}:1`, `${open.id}:3`]));
    expect(seen.some((s) => s.startsWith(finished.id))).toBe(false);
  });
});

describe('ResultRepository', () => {
  it('writes a batch once: redelivery and frames missing from the manifest are skipped', async () => {
    const v = await videos.create(upload());
    await frames.insertManifest(v.id, manifest(3));
    expect(await results.insertResults(resultsFor(v.id, v.model, [0, 1]))).toEqual({
      inserted: 2,
      skipped: 0,
    });
    expect(await results.insertResults(resultsFor(v.id, v.model, [0, 1, 2, 7]))).toEqual({
      inserted: 1,
      skipped: 3,
    });
    expect(await results.insertResults([])).toEqual({ inserted: 0, skipped: 0 });
    const row = await db
      .selectFrom('frame_results')
      .selectAll()
      .where('video_id', '=', v.id)
      .where('frame_index', '=', 1)
      .executeTakeFirstOrThrow();
    expect(row).toMatchObject({
      model: v.model,
      detections: [det('car'), det('person', 0.4)],
      class_counts: { car: 1, person: 1 },
      inference_ms: 12.5,
      worker_id: 'w1',
      camera_id: 'cam-1',
      time_ms: 1000,
    });
    expect(row.recorded_at?.toISOString()).toBe('2025-03-01T12:00:01.000Z');
  });

  it('insertResultsWhile writes a new batch in one statement, a redelivery only its missing rows', async () => {
    const v = await videos.create(upload());
    await frames.insertManifest(v.id, manifest(6));
    const statements: string[] = [];
    const counted = new ResultRepository(
      db.withPlugin({
        transformQuery: (args) => {
          statements.push(args.node.kind);
          return args.node;
        },
        transformResult: (args) => Promise.resolve(args.result),
      }),
    );
    const write = async (indexes: number[]) => {
      statements.length = 0;
      const { inserted, skipped } = await counted.insertResultsWhile(
        ['uploaded'],
        resultsFor(v.id, v.model, indexes),
      );
      return { inserted, skipped, statements: statements.length };
    };
    // Probe, status check, video lock and insert together.
    expect(await write([0, 1, 2])).toEqual({ inserted: 3, skipped: 0, statements: 1 });
    // First row stored: a redelivery. The first statement writes nothing; the missing keys
    // are looked up and only those rows sent.
    expect(await write([2, 3, 0, 4])).toEqual({ inserted: 2, skipped: 2, statements: 3 });
    expect(await write([4, 3])).toEqual({ inserted: 0, skipped: 2, statements: 2 });
    // First row new, a later one stored: no probe hit, ON CONFLICT skips the stored one.
    expect(await write([5, 1])).toEqual({ inserted: 1, skipped: 1, statements: 1 });
    expect((await rowsOf(v.id)).frame_results).toBe(6);
  });

  it('writes only for videos in the given statuses, and says what status each video had', async () => {
    const live = await videos.create(upload());
    const canceled = await videos.create(upload());
    for (const v of [live, canceled]) {
      await frames.insertManifest(v.id, manifest(2));
      await videos.transition(v.id, 'extracting');
    }
    await videos.transition(canceled.id, 'canceled');
    const gone = newVideoId();
    const outcome = await results.insertResultsWhile(
      ['uploaded', 'extracting', 'detecting'],
      [
        ...resultsFor(live.id, live.model, [0, 1]),
        ...resultsFor(canceled.id, canceled.model, [0, 1]),
        ...resultsFor(gone, live.model, [0]),
      ],
    );
    expect(outcome.inserted).toBe(2);
    expect(outcome.skipped).toBe(3);
    expect([...outcome.videoStatuses].sort()).toEqual(
      [
        [live.id, 'extracting'],
        [canceled.id, 'canceled'],
      ].sort(),
    );
    expect((await rowsOf(live.id)).frame_results).toBe(2);
    expect((await rowsOf(canceled.id)).frame_results).toBe(0);
    // A redelivery reports the statuses too, whether or not rows were still missing.
    const again = await results.insertResultsWhile(
      ['extracting'],
      resultsFor(live.id, live.model, [0, 1]),
    );
    expect(again).toMatchObject({ inserted: 0, skipped: 2 });
    expect(again.videoStatuses.get(live.id)).toBe('extracting');
    expect((await results.insertResultsWhile(['extracting'], [])).videoStatuses.size).toBe(0);
  });

  it('is exactly-once under concurrent duplicate writers', async () => {
    const v = await videos.create(upload());
    await frames.insertManifest(v.id, manifest(200));
    const batch = resultsFor(
      v.id,
      v.model,
      Array.from({ length: 200 }, (_, i) => i),
    );
    // Ten workers deliver the same 200 results at once, in different orders and batch cuts.
    const outcomes = await Promise.all(
      Array.from({ length: 10 }, (_, w) => {
        const shuffled = w % 2 === 0 ? batch : [...batch].reverse();
        const cut = 20 * (w + 1);
        return Promise.all([
          results.insertResults(shuffled.slice(0, cut)),
          results.insertResults(shuffled.slice(cut)),
        ]);
      }),
    );
    const inserted = outcomes.flat().reduce((n, o) => n + o.inserted, 0);
    const skipped = outcomes.flat().reduce((n, o) => n + o.skipped, 0);
    expect(inserted).toBe(200);
    expect(skipped).toBe(9 * 200);
    expect((await videos.progress(v.id)).done).toBe(200);
  });

  it('skips the frames of a video deleted while the batch waits, results and failures alike', async () => {
    for (const write of ['results', 'resultsWhile', 'failures'] as const) {
      const v = await videos.create(upload());
      await frames.insertManifest(v.id, manifest(3));
      // The deletion holds its locks (uncommitted) while the write starts: the write must
      // wait for it and then skip every row, not fail on the foreign key.
      const writing = await whileHolding(
        (trx) => trx.deleteFrom('videos').where('id', '=', v.id).execute(),
        () =>
          write === 'results'
            ? results.insertResults(resultsFor(v.id, v.model, [0, 1, 2]))
            : write === 'resultsWhile'
              ? results
                  .insertResultsWhile(['uploaded'], resultsFor(v.id, v.model, [0, 1, 2]))
                  .then(({ inserted, skipped }) => ({ inserted, skipped }))
              : results.recordFailures(
                  [0, 1, 2].map((i) => ({
                    videoId: v.id,
                    frameIndex: i,
                    model: v.model,
                    errorCode: 'frame_corrupt',
                    errorMessage: 'bad jpeg',
                  })),
                ),
      );
      expect(writing).toEqual({ inserted: 0, skipped: 3 });
      expect(await rowsOf(v.id)).toEqual({ frame_results: 0, frame_failures: 0, frames: 0 });
    }
  });

  it('lets a video deletion that starts during a write wait, then delete what it wrote', async () => {
    const v = await videos.create(upload());
    await frames.insertManifest(v.id, manifest(3));
    const deleted = await whileHolding(
      async (trx) => {
        const outcome = await new ResultRepository(trx).insertResults(
          resultsFor(v.id, v.model, [0, 1]),
        );
        expect(outcome).toEqual({ inserted: 2, skipped: 0 });
      },
      () => videos.delete(v.id),
    );
    expect(deleted).toBe(true);
    expect(await rowsOf(v.id)).toEqual({ frame_results: 0, frame_failures: 0, frames: 0 });
  });

  it('throws FrameGoneError when a manifest row alone is deleted during the write', async () => {
    const v = await videos.create(upload());
    await frames.insertManifest(v.id, manifest(4));
    const failedWhile = whileHolding(
      (trx) =>
        trx
          .deleteFrom('frames')
          .where('video_id', '=', v.id)
          .where('frame_index', '=', 3)
          .execute(),
      () => results.insertResultsWhile(['uploaded'], resultsFor(v.id, v.model, [2, 3])),
    );
    await expect(failedWhile).rejects.toThrow(FrameGoneError);
    const failed = whileHolding(
      (trx) =>
        trx
          .deleteFrom('frames')
          .where('video_id', '=', v.id)
          .where('frame_index', '=', 1)
          .execute(),
      () => results.insertResults(resultsFor(v.id, v.model, [0, 1, 2])),
    );
    await expect(failed).rejects.toThrow(FrameGoneError);
    await expect(failed).rejects.toMatchObject({ cause: { code: '23503' } });
    // Nothing of the batch was written; written again, the remaining frames get their rows.
    expect((await rowsOf(v.id)).frame_results).toBe(0);
    expect(await results.insertResults(resultsFor(v.id, v.model, [0, 1, 2]))).toEqual({
      inserted: 2,
      skipped: 1,
    });
  });

  it('stores detections rounded: 4 decimals for scores, 0.1 pixel for coordinates', async () => {
    const v = await videos.create(upload());
    await frames.insertManifest(v.id, manifest(1));
    const raw = {
      class: 'person',
      classId: 0,
      score: Math.fround(0.891234567),
      box: [Math.fround(12.3456), 7, 1919.96, Math.fround(640.04)] as const,
      keypoints: [[Math.fround(100.123), 200.06, Math.fround(0.25)] as const],
    };
    await results.insertResults([
      { videoId: v.id, frameIndex: 0, model: v.model, detections: [raw] },
    ]);
    const row = await db
      .selectFrom('frame_results')
      .select('detections')
      .where('video_id', '=', v.id)
      .executeTakeFirstOrThrow();
    expect(row.detections).toEqual([
      {
        class: 'person',
        classId: 0,
        score: 0.8912,
        box: [12.3, 7, 1920, 640],
        keypoints: [[100.1, 200.1, 0.25]],
      },
    ]);
  });

  it('keeps the first permanent failure of a frame', async () => {
    const v = await videos.create(upload());
    await frames.insertManifest(v.id, manifest(2));
    const failure = {
      videoId: v.id,
      frameIndex: 0,
      model: v.model,
      errorCode: 'corrupt',
      errorMessage: 'first',
      attempts: 3,
    };
    expect(await results.recordFailures([failure])).toEqual({ inserted: 1, skipped: 0 });
    expect(
      await results.recordFailures([
        { ...failure, errorMessage: 'second' },
        { ...failure, frameIndex: 9 },
      ]),
    ).toEqual({
      inserted: 0,
      skipped: 2,
    });
    const row = await db
      .selectFrom('frame_failures')
      .selectAll()
      .where('video_id', '=', v.id)
      .executeTakeFirstOrThrow();
    expect(row).toMatchObject({ error_code: 'corrupt', error_message: 'first', attempts: 3 });
  });

  it('stores the class histogram exactly as fw_class_counts() computes it', async () => {
    const v = await videos.create(upload());
    await frames.insertManifest(v.id, manifest(3));
    const detections = [
      [],
      [det('car'), det('car'), det('bus')],
      [det('person'), det('traffic light')],
    ];
    await results.insertResults(
      detections.map((d, i) => ({ videoId: v.id, frameIndex: i, model: v.model, detections: d })),
    );
    const rows = await sql<{ stored: unknown; computed: unknown }>`
      SELECT class_counts AS stored, fw_class_counts(detections) AS computed
      FROM frame_results WHERE video_id = ${v.id} ORDER BY frame_index`.execute(db);
    expect(rows.rows.map((r) => r.stored)).toEqual(rows.rows.map((r) => r.computed));
    expect(rows.rows.map((r) => r.stored)).toEqual(detections.map((d) => classCounts(d)));
  });

  it('lists detections with class, score and time filters, paged by frame', async () => {
    const v = await videos.create(upload());
    await frames.insertManifest(v.id, manifest(6));
    const perFrame = [
      [det('car', 0.95), det('person', 0.5)],
      [det('person', 0.8)],
      [],
      [det('car', 0.3), det('bus', 0.7)],
      [det('car', 0.6)],
      [det('dog', 0.99)],
    ];
    await results.insertResults(
      perFrame.map((d, i) => ({ videoId: v.id, frameIndex: i, model: v.model, detections: d })),
    );
    const all = await results.listDetections(v.id);
    expect(all.items.map((f) => f.frameIndex)).toEqual([0, 1, 2, 3, 4, 5]);
    expect(all.items[3]).toMatchObject({ timeMs: 3000, detections: perFrame[3] });

    const cars = await results.listDetections(v.id, { classes: ['car'], minScore: 0.5 });
    expect(cars.items.map((f) => [f.frameIndex, f.detections])).toEqual([
      [0, [det('car', 0.95)]],
      [4, [det('car', 0.6)]],
    ]);

    const window = await results.listDetections(v.id, { fromMs: 1000, toMs: 4000, minScore: 0.7 });
    expect(window.items.map((f) => [f.frameIndex, f.detections])).toEqual([
      [1, [det('person', 0.8)]],
      [3, [det('bus', 0.7)]],
    ]);

    const pages: number[][] = [];
    let cursor: string | undefined;
    do {
      const page = await results.listDetections(v.id, {
        classes: ['car', 'dog'],
        limit: 2,
        ...(cursor ? { cursor } : {}),
      });
      pages.push(page.items.map((f) => f.frameIndex));
      cursor = page.nextCursor;
    } while (cursor !== undefined);
    expect(pages).toEqual([
      [0, 3],
      [4, 5],
    ]);
    await expect(
      results.listDetections(v.id, { cursor: (await videos.list({ limit: 1 })).nextCursor! }),
    ).rejects.toThrow(InvalidCursorError);
  });
});
