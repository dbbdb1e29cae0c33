import type { Kysely } from 'kysely';
import { AnalyticsRepository } from './analytics';
import { FrameRepository } from './repositories/frames.repository';
import { ResultRepository } from './repositories/results.repository';
import { VideoRepository } from './repositories/videos.repository';
import type { Database, Detection } from './schema';
import { det, manifest, migratedDatabase, upload } from './testing.spec-helper';

// Small known data, exact expected answers.
//
// camera A, video A1 recorded 10:00:00, frames every second (time_ms = index * 1000):
//   f0 10:00:00  car car person
//   f1 10:00:01  car
//   f2 10:00:02  person person person
//   f3 10:00:03  (nothing)
// camera A, video A2 recorded 11:30:00:
//   f0 11:30:00  car bus
//   f1 11:30:01  person person person person
// camera B, video B1 recorded 10:00:30:
//   f0 10:00:30  car car car
//   f1 10:00:31  dog
// video N (no camera, no recorded_at): f0 car — invisible to camera and wall-clock queries.

const at = (iso: string) => new Date(`2025-03-01T${iso}Z`);

let db: Kysely<Database>;
let close: () => Promise<void>;
let analytics: AnalyticsRepository;
const ids: Record<'a1' | 'a2' | 'b1' | 'n', string> = { a1: '', a2: '', b1: '', n: '' };

beforeAll(async () => {
  ({ db, close } = await migratedDatabase());
  analytics = new AnalyticsRepository(db);
  const videos = new VideoRepository(db);
  const frames = new FrameRepository(db);
  const results = new ResultRepository(db);
  const load = async (
    key: keyof typeof ids,
    cameraId: string | null,
    recordedAt: Date | null,
    perFrame: Detection[][],
  ) => {
    const v = await videos.create(upload({ cameraId, recordedAt }));
    ids[key] = v.id;
    await frames.insertManifest(v.id, manifest(perFrame.length));
    await results.insertResults(
      perFrame.map((detections, i) => ({
        videoId: v.id,
        frameIndex: i,
        model: v.model,
        detections,
      })),
    );
  };
  await load('a1', 'A', at('10:00:00'), [
    [det('car'), det('car'), det('person')],
    [det('car')],
    [det('person'), det('person'), det('person')],
    [],
  ]);
  await load('a2', 'A', at('11:30:00'), [
    [det('car'), det('bus')],
    [det('person'), det('person'), det('person'), det('person')],
  ]);
  await load('b1', 'B', at('10:00:30'), [[det('car'), det('car'), det('car')], [det('dog')]]);
  await load('n', null, null, [[det('car')]]);
});

afterAll(async () => {
  await close();
});

const day = { from: at('00:00:00'), to: at('23:59:59') };

describe('analytics queries', () => {
  it('per-class counts per time bucket of one video', async () => {
    expect(await analytics.classCountsPerBucketForVideo(ids.a1, 2000)).toEqual([
      { bucketStart: 0, class: 'car', detections: 3, frames: 2 },
      { bucketStart: 0, class: 'person', detections: 1, frames: 1 },
      { bucketStart: 2000, class: 'person', detections: 3, frames: 1 },
    ]);
  });

  it('per-class counts per wall-clock bucket at one camera', async () => {
    expect(await analytics.classCountsPerBucketForCamera('A', day, '1 hour')).toEqual([
      { bucketStart: at('10:00:00'), class: 'car', detections: 3, frames: 2 },
      { bucketStart: at('10:00:00'), class: 'person', detections: 4, frames: 2 },
      { bucketStart: at('11:00:00'), class: 'bus', detections: 1, frames: 1 },
      { bucketStart: at('11:00:00'), class: 'car', detections: 1, frames: 1 },
      { bucketStart: at('11:00:00'), class: 'person', detections: 4, frames: 1 },
    ]);
  });

  it('cars at one camera in the last hour (a window: from inclusive, to exclusive)', async () => {
    // "Now" is 11:30:01: the last hour at camera A holds A2's first frame only.
    expect(
      await analytics.classAtCamera('A', 'car', { from: at('10:30:01'), to: at('11:30:01') }),
    ).toEqual({ detections: 1, frames: 1 });
    expect(
      await analytics.classAtCamera('A', 'car', { from: at('10:00:00'), to: at('10:00:02') }),
    ).toEqual({ detections: 3, frames: 2 });
    expect(await analytics.classAtCamera('B', 'car', day)).toEqual({ detections: 3, frames: 1 });
    expect(await analytics.classAtCamera('B', 'bus', day)).toEqual({ detections: 0, frames: 0 });
    expect(await analytics.classAtCamera('Z', 'car', day)).toEqual({ detections: 0, frames: 0 });
  });

  it('one class per camera, busiest first', async () => {
    expect(await analytics.classPerCamera('car', day)).toEqual([
      { cameraId: 'A', detections: 4, frames: 3 },
      { cameraId: 'B', detections: 3, frames: 1 },
    ]);
    expect(
      await analytics.classPerCamera('car', { from: at('10:00:01'), to: at('11:00:00') }),
    ).toEqual([
      { cameraId: 'B', detections: 3, frames: 1 },
      { cameraId: 'A', detections: 1, frames: 1 },
    ]);
  });

  it('top classes across all cameras', async () => {
    expect(await analytics.topClasses(day, 3)).toEqual([
      { class: 'person', detections: 8, frames: 3 },
      { class: 'car', detections: 7, frames: 4 },
      { class: 'bus', detections: 1, frames: 1 },
    ]);
    expect(await analytics.topClasses({ from: at('10:00:30'), to: at('10:00:32') }, 10)).toEqual([
      { class: 'car', detections: 3, frames: 1 },
      { class: 'dog', detections: 1, frames: 1 },
    ]);
  });

  it('frames with at least N persons', async () => {
    expect(await analytics.framesWithAtLeast('person', 3, 'A', day, 10)).toEqual([
      { videoId: ids.a1, frameIndex: 2, recordedAt: at('10:00:02'), count: 3 },
      { videoId: ids.a2, frameIndex: 1, recordedAt: at('11:30:01'), count: 4 },
    ]);
    expect(await analytics.framesWithAtLeast('person', 4, 'A', day, 10)).toHaveLength(1);
    expect(await analytics.framesWithAtLeast('person', 3, 'A', day, 1)).toHaveLength(1);
    expect(await analytics.framesWithAtLeast('person', 1, 'B', day, 10)).toEqual([]);
  });
});
