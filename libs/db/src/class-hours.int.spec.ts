import type { Kysely } from 'kysely';
import { sql } from 'kysely';
import { AnalyticsRepository } from './analytics';
import { FrameRepository } from './repositories/frames.repository';
import type { FrameResult } from './repositories/results.repository';
import { ResultRepository } from './repositories/results.repository';
import { VideoRepository } from './repositories/videos.repository';
import type { Database, Detection } from './schema';
import { det, manifest, migratedDatabase, upload } from './testing.spec-helper';

// The hourly rollup `frame_class_hours` (migration 0002) must always equal what the result
// rows say, whatever writes them: redelivered batches, racing writers, video deletion.

const at = (iso: string) => new Date(`2025-03-01T${iso}Z`);

let db: Kysely<Database>;
let close: () => Promise<void>;
beforeAll(async () => ({ db, close } = await migratedDatabase()));
afterAll(() => close());
// Repositories are stateless: made where used.
const videos = () => new VideoRepository(db);
const results = () => new ResultRepository(db);

interface HourRow {
  hour: Date;
  camera_id: string | null;
  class: string;
  detections: number;
  frames: number;
}

async function rollup(): Promise<HourRow[]> {
  const { rows } = await sql<HourRow>`
    SELECT hour, camera_id, class, detections, frames FROM frame_class_hours
    ORDER BY hour, camera_id NULLS FIRST, class`.execute(db);
  return rows;
}

/** The rollup recomputed from the result rows, the definition it must match. */
async function fromResults(): Promise<HourRow[]> {
  const { rows } = await sql<HourRow>`
    SELECT fw_hour_floor(r.recorded_at) AS hour, r.camera_id, c.key AS class,
           sum(c.value::int)::int AS detections, count(*)::int AS frames
    FROM frame_results AS r CROSS JOIN LATERAL jsonb_each_text(r.class_counts) AS c
    WHERE r.recorded_at IS NOT NULL
    GROUP BY 1, 2, 3
    ORDER BY 1, 2 NULLS FIRST, 3`.execute(db);
  return rows;
}

async function video(
  cameraId: string | null,
  recordedAt: Date | null,
  perFrame: Detection[][],
): Promise<{ id: string; batch: FrameResult[] }> {
  const v = await videos().create(upload({ cameraId, recordedAt }));
  await new FrameRepository(db).insertManifest(v.id, manifest(perFrame.length));
  const batch = perFrame.map((detections, i) => ({
    videoId: v.id,
    frameIndex: i,
    model: v.model,
    detections,
  }));
  return { id: v.id, batch };
}

describe('frame_class_hours', () => {
  it('sums the histograms of newly written results per hour, camera and class', async () => {
    // Camera C, 09:59:58 + 1 s per frame: two frames in the 09:00 hour, two in 10:00.
    const c = await video('C', at('09:59:58'), [
      [det('car'), det('car'), det('person')],
      [det('car')],
      [det('person')],
      [],
    ]);
    // Wall-clock time but no camera: counts across cameras under camera_id NULL.
    const n = await video(null, at('10:30:00'), [[det('car')]]);
    // No wall-clock time: not in the rollup at all.
    const x = await video('C', null, [[det('dog')]]);
    expect(await results().insertResults([...c.batch, ...n.batch, ...x.batch])).toEqual({
      inserted: 6,
      skipped: 0,
    });
    const expected = [
      { hour: at('09:00:00'), camera_id: 'C', class: 'car', detections: 3, frames: 2 },
      { hour: at('09:00:00'), camera_id: 'C', class: 'person', detections: 1, frames: 1 },
      { hour: at('10:00:00'), camera_id: null, class: 'car', detections: 1, frames: 1 },
      { hour: at('10:00:00'), camera_id: 'C', class: 'person', detections: 1, frames: 1 },
    ];
    expect(await rollup()).toEqual(expected);

    // Redelivered (whole batch, and part of it mixed with a new frame): nothing counted twice.
    expect(await results().insertResults(c.batch)).toEqual({ inserted: 0, skipped: 4 });
    const more = await video('C', at('10:00:05'), [[det('bus')]]);
    expect(await results().insertResults([...c.batch.slice(1), ...more.batch])).toEqual({
      inserted: 1,
      skipped: 3,
    });
    expect(await rollup()).toEqual([
      ...expected.slice(0, 3),
      { hour: at('10:00:00'), camera_id: 'C', class: 'bus', detections: 1, frames: 1 },
      ...expected.slice(3),
    ]);
    expect(await rollup()).toEqual(await fromResults());

    // Deleting a video subtracts its frames and removes rows that reach zero.
    expect(await videos().delete(more.id)).toBe(true);
    expect(await videos().delete(n.id)).toBe(true);
    expect(await rollup()).toEqual(expected.filter((r) => r.camera_id !== null));
    expect(await rollup()).toEqual(await fromResults());
  });

  it('stays exact under concurrent duplicate writers of one camera hour', async () => {
    const perFrame = Array.from({ length: 40 }, (_, i) =>
      i % 3 === 0 ? [det('car'), det('person')] : [det('car')],
    );
    const v = await video('D', at('12:00:00'), perFrame);
    // Eight writers, overlapping batches of the same frames, all at once.
    const batches = Array.from({ length: 8 }, (_, w) =>
      v.batch.filter((_r, i) => (i + w) % 2 === 0 || i < 10),
    );
    const outcomes = await Promise.all(batches.map((b) => results().insertResults(b)));
    expect(outcomes.reduce((sum, o) => sum + o.inserted, 0)).toBe(40);
    const rows = (await rollup()).filter((r) => r.camera_id === 'D');
    expect(rows).toEqual([
      { hour: at('12:00:00'), camera_id: 'D', class: 'car', detections: 40, frames: 40 },
      { hour: at('12:00:00'), camera_id: 'D', class: 'person', detections: 14, frames: 14 },
    ]);
    expect(await rollup()).toEqual(await fromResults());
  });

  it('answers window queries from rollup hours plus raw edge hours, like the raw rows', async () => {
    const analytics = new AnalyticsRepository(db);
    // Camera C holds 09:59:58 car×2 person, 09:59:59 car, 10:00:00 person (from above).
    expect(await analytics.topClasses({ from: at('09:59:59'), to: at('10:00:01') }, 5)).toEqual([
      { class: 'car', detections: 1, frames: 1 },
      { class: 'person', detections: 1, frames: 1 },
    ]);
    expect(await analytics.topClasses({ from: at('09:00:00'), to: at('11:00:00') }, 5)).toEqual([
      { class: 'car', detections: 3, frames: 2 },
      { class: 'person', detections: 2, frames: 2 },
    ]);
    // Rollup hour 10:00 plus the raw second before it.
    expect(await analytics.topClasses({ from: at('09:59:59'), to: at('11:00:00') }, 5)).toEqual([
      { class: 'car', detections: 1, frames: 1 },
      { class: 'person', detections: 1, frames: 1 },
    ]);
    expect(
      await analytics.classPerCamera('car', { from: at('09:59:59'), to: at('12:00:01') }),
    ).toEqual([
      // Ties: by camera.
      { cameraId: 'C', detections: 1, frames: 1 },
      { cameraId: 'D', detections: 1, frames: 1 },
    ]);
    const window = { from: at('09:30:00'), to: at('10:30:00') };
    // Whole-hour buckets read rollup hours; 30-minute buckets read the raw rows only.
    expect(await analytics.classCountsPerBucketForCamera('C', window, '1 hour')).toEqual([
      { bucketStart: at('09:00:00'), class: 'car', detections: 3, frames: 2 },
      { bucketStart: at('09:00:00'), class: 'person', detections: 1, frames: 1 },
      { bucketStart: at('10:00:00'), class: 'person', detections: 1, frames: 1 },
    ]);
    expect(await analytics.classCountsPerBucketForCamera('C', window, '30 minutes')).toEqual([
      { bucketStart: at('09:30:00'), class: 'car', detections: 3, frames: 2 },
      { bucketStart: at('09:30:00'), class: 'person', detections: 1, frames: 1 },
      { bucketStart: at('10:00:00'), class: 'person', detections: 1, frames: 1 },
    ]);
  });
});
