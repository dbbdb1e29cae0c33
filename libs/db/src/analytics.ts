import type { Kysely } from 'kysely';
import { CompiledQuery } from 'kysely';
import type { Database } from './schema';

// The documented analytics queries. Each SQL text below is printed verbatim in
// libs/db/README.md (a unit test keeps the two identical) and run on known data by the
// integration tests, so every query a user copies from the docs is a tested query.
//
// They read `frame_results` (camera_id, recorded_at, time_ms, class_counts) or the view
// `frame_class_counts` (one row per frame and class present), never the raw detections: the
// per-frame class histogram is what makes them fast. Queries over long windows read whole
// hours from the rollup `frame_class_hours` and only the partial hours at the window's edges
// from the frames, so their answers equal the raw rows' for any window. They count results of every model; a
// video is processed by one model in this version.

/** The SQL of each documented query; `$n` are its parameters, in the order given. */
export const ANALYTICS_SQL = {
  /** Per-class counts per time bucket of one video (video time). $1 video id, $2 bucket ms. */
  classCountsPerBucketForVideo: `
SELECT (c.time_ms / $2::int) * $2::int AS bucket_start_ms,
       c.class,
       sum(c.count)::int AS detections,
       count(*)::int AS frames
FROM frame_class_counts AS c
WHERE c.video_id = $1::uuid
GROUP BY 1, 2
ORDER BY 1, 2`,

  /** Per-class counts per wall-clock bucket at one camera. $1 camera, $2 from, $3 to, $4 bucket. */
  classCountsPerBucketForCamera: `
SELECT x.bucket_start, x.class, sum(x.detections)::int AS detections, sum(x.frames)::int AS frames
FROM (
  -- Whole hours inside the window, from the hourly rollup (when buckets are whole hours)
  SELECT date_bin($4::interval, h.hour, timestamptz '2000-01-01 00:00:00+00') AS bucket_start,
         h.class, h.detections, h.frames
  FROM frame_class_hours AS h
  WHERE fw_whole_hours($4::interval) AND h.camera_id = $1
    AND h.hour >= fw_hour_ceil($2::timestamptz) AND h.hour < fw_hour_floor($3::timestamptz)
  UNION ALL
  -- The partial hours at the window's edges (or the whole window), from the frames
  SELECT date_bin($4::interval, c.recorded_at, timestamptz '2000-01-01 00:00:00+00'),
         c.class, c.count, 1
  FROM frame_class_counts AS c
  WHERE c.camera_id = $1 AND c.recorded_at >= $2::timestamptz AND c.recorded_at < $3::timestamptz
    AND (NOT fw_whole_hours($4::interval)
         OR c.recorded_at < fw_hour_ceil($2::timestamptz)
         OR c.recorded_at >= fw_hour_floor($3::timestamptz))
) AS x
GROUP BY 1, 2
ORDER BY 1, 2`,

  /** Detections of one class at one camera in a window. $1 camera, $2 class, $3 from, $4 to. */
  classAtCamera: `
SELECT coalesce(sum((r.class_counts ->> $2)::int), 0)::int AS detections,
       count(*) FILTER (WHERE r.class_counts ? $2)::int AS frames
FROM frame_results AS r
WHERE r.camera_id = $1 AND r.recorded_at >= $3::timestamptz AND r.recorded_at < $4::timestamptz`,

  /** One class per camera in a window, busiest first. $1 class, $2 from, $3 to. */
  classPerCamera: `
SELECT x.camera_id, sum(x.detections)::int AS detections, sum(x.frames)::int AS frames
FROM (
  -- Whole hours inside the window, from the hourly rollup
  SELECT h.camera_id, h.detections, h.frames
  FROM frame_class_hours AS h
  WHERE h.class = $1 AND h.camera_id IS NOT NULL
    AND h.hour >= fw_hour_ceil($2::timestamptz) AND h.hour < fw_hour_floor($3::timestamptz)
  UNION ALL
  -- The partial hours at the window's edges, from the frames
  SELECT r.camera_id, (r.class_counts ->> $1)::int, 1
  FROM frame_results AS r
  WHERE r.camera_id IS NOT NULL AND r.class_counts ? $1
    AND ((r.recorded_at >= $2::timestamptz
          AND r.recorded_at < least($3::timestamptz, fw_hour_ceil($2::timestamptz)))
      OR (r.recorded_at >= greatest(fw_hour_floor($3::timestamptz), fw_hour_ceil($2::timestamptz))
          AND r.recorded_at < $3::timestamptz))
) AS x
GROUP BY x.camera_id
ORDER BY detections DESC, x.camera_id`,

  /** The most detected classes across all cameras in a window. $1 from, $2 to, $3 how many. */
  topClasses: `
SELECT x.class, sum(x.detections)::int AS detections, sum(x.frames)::int AS frames
FROM (
  -- Whole hours inside the window, from the hourly rollup
  SELECT h.class, h.detections, h.frames
  FROM frame_class_hours AS h
  WHERE h.hour >= fw_hour_ceil($1::timestamptz) AND h.hour < fw_hour_floor($2::timestamptz)
  UNION ALL
  -- The partial hours at the window's edges, from the frames
  SELECT c.class, c.count, 1
  FROM frame_class_counts AS c
  WHERE (c.recorded_at >= $1::timestamptz
         AND c.recorded_at < least($2::timestamptz, fw_hour_ceil($1::timestamptz)))
     OR (c.recorded_at >= greatest(fw_hour_floor($2::timestamptz), fw_hour_ceil($1::timestamptz))
         AND c.recorded_at < $2::timestamptz)
) AS x
GROUP BY x.class
ORDER BY detections DESC, x.class
LIMIT $3::int`,

  /**
   * Frames with at least N detections of a class at one camera in a window, oldest first.
   * $1 class, $2 N, $3 camera, $4 from, $5 to, $6 how many.
   */
  framesWithAtLeast: `
SELECT r.video_id, r.frame_index, r.recorded_at, (r.class_counts ->> $1)::int AS count
FROM frame_results AS r
WHERE r.camera_id = $3 AND r.recorded_at >= $4::timestamptz AND r.recorded_at < $5::timestamptz
  AND (r.class_counts ->> $1)::int >= $2::int
ORDER BY r.recorded_at, r.video_id, r.frame_index
LIMIT $6::int`,
} as const;

/** Name of a documented analytics query. */
export type AnalyticsQueryName = keyof typeof ANALYTICS_SQL;

/** A time window, `from` inclusive, `to` exclusive. */
export interface TimeWindow {
  readonly from: Date;
  readonly to: Date;
}

/** Detections and frames per class in one bucket. */
export interface ClassBucket<B> {
  readonly bucketStart: B;
  readonly class: string;
  readonly detections: number;
  readonly frames: number;
}

/** Detections of a class and the frames that hold them. */
export interface ClassTotal {
  readonly detections: number;
  readonly frames: number;
}

/** A frame with its count of the asked class. */
export interface FrameClassCount {
  readonly videoId: string;
  readonly frameIndex: number;
  readonly recordedAt: Date;
  readonly count: number;
}

/**
 * Runs the documented analytics queries ({@link ANALYTICS_SQL}) with typed parameters and
 * results. Camera and wall-clock queries cover videos uploaded with a camera id and
 * `recorded_at`.
 */
export class AnalyticsRepository {
  constructor(private readonly db: Kysely<Database>) {}

  /** Per-class counts per `bucketMs` of video time, for one video. */
  async classCountsPerBucketForVideo(
    videoId: string,
    bucketMs: number,
  ): Promise<ClassBucket<number>[]> {
    const rows = await this.run<{
      bucket_start_ms: number;
      class: string;
      detections: number;
      frames: number;
    }>('classCountsPerBucketForVideo', [videoId, bucketMs]);
    return rows.map((r) => ({
      bucketStart: r.bucket_start_ms,
      class: r.class,
      detections: r.detections,
      frames: r.frames,
    }));
  }

  /** Per-class counts per wall-clock bucket (a Postgres interval such as `'1 hour'`) at a camera. */
  async classCountsPerBucketForCamera(
    cameraId: string,
    window: TimeWindow,
    bucket: string,
  ): Promise<ClassBucket<Date>[]> {
    const rows = await this.run<{
      bucket_start: Date;
      class: string;
      detections: number;
      frames: number;
    }>('classCountsPerBucketForCamera', [cameraId, window.from, window.to, bucket]);
    return rows.map((r) => ({
      bucketStart: r.bucket_start,
      class: r.class,
      detections: r.detections,
      frames: r.frames,
    }));
  }

  /**
   * "How many cars passed camera X in the last hour": the number of `className` detections in
   * that camera's frames in the window. Without tracking, one car seen in five frames counts
   * five times; compare windows with each other, not with a road counter.
   */
  async classAtCamera(
    cameraId: string,
    className: string,
    window: TimeWindow,
  ): Promise<ClassTotal> {
    const [row] = await this.run<ClassTotal>('classAtCamera', [
      cameraId,
      className,
      window.from,
      window.to,
    ]);
    return row ?? { detections: 0, frames: 0 };
  }

  /** Detections of `className` per camera in the window, busiest camera first. */
  async classPerCamera(
    className: string,
    window: TimeWindow,
  ): Promise<(ClassTotal & { readonly cameraId: string })[]> {
    const rows = await this.run<{ camera_id: string; detections: number; frames: number }>(
      'classPerCamera',
      [className, window.from, window.to],
    );
    return rows.map((r) => ({ cameraId: r.camera_id, detections: r.detections, frames: r.frames }));
  }

  /** The `limit` most detected classes across all cameras in the window. */
  async topClasses(
    window: TimeWindow,
    limit: number,
  ): Promise<(ClassTotal & { readonly class: string })[]> {
    return this.run('topClasses', [window.from, window.to, limit]);
  }

  /** Frames at a camera with at least `min` detections of `className`, oldest first. */
  async framesWithAtLeast(
    className: string,
    min: number,
    cameraId: string,
    window: TimeWindow,
    limit: number,
  ): Promise<FrameClassCount[]> {
    const rows = await this.run<{
      video_id: string;
      frame_index: number;
      recorded_at: Date;
      count: number;
    }>('framesWithAtLeast', [className, min, cameraId, window.from, window.to, limit]);
    return rows.map((r) => ({
      videoId: r.video_id,
      frameIndex: r.frame_index,
      recordedAt: r.recorded_at,
      count: r.count,
    }));
  }

  private async run<R>(name: AnalyticsQueryName, parameters: readonly unknown[]): Promise<R[]> {
    const result = await this.db.executeQuery<R>(
      CompiledQuery.raw(ANALYTICS_SQL[name], [...parameters]),
    );
    return result.rows;
  }
}
