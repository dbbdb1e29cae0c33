import type { ColumnType } from 'kysely';

// Kysely's view of the tables created by the migrations. Keep in step with them: the
// integration tests insert and read every column, so a drift fails there.

/** A timestamptz column: pg returns a Date; writes accept a Date or an ISO string. */
type Timestamp = ColumnType<Date, Date | string, Date | string>;
/** A timestamptz column with a default. */
type DefaultedTimestamp = ColumnType<Date, Date | string | undefined, Date | string>;
/** int8: pg returns a string (it may exceed 2^53); writes accept a number. */
type Int8 = ColumnType<string, number | bigint | string, number | bigint | string>;

/** Lifecycle of a video; the allowed moves are in {@link VIDEO_TRANSITIONS}. */
export type VideoStatus =
  | 'uploaded'
  | 'extracting'
  | 'detecting'
  | 'completed'
  | 'completed_with_errors'
  | 'failed'
  | 'canceled';

/** One detection as workers store it, boxes in original pixels. */
export interface Detection {
  readonly class: string;
  readonly classId: number;
  readonly score: number;
  /** `[x1, y1, x2, y2]` in the original frame's pixels. */
  readonly box: readonly [number, number, number, number];
  /** Pose models only: `[x, y, confidence]` per keypoint, original pixels. */
  readonly keypoints?: readonly (readonly [number, number, number])[];
}

export interface VideosTable {
  id: string;
  status: ColumnType<VideoStatus, VideoStatus | undefined, VideoStatus>;
  original_filename: string;
  content_type: string;
  size_bytes: Int8;
  storage_key: string;
  duration_s: number | null;
  fps: number | null;
  width: number | null;
  height: number | null;
  codec: string | null;
  sample_fps: number | null;
  sample_every_n: number | null;
  camera_id: string | null;
  recorded_at: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
  model_name: string;
  model_version: string;
  /** Generated: `model_name@model_version`, the key results are stored under. */
  model: ColumnType<string, never, never>;
  expected_frames: number | null;
  extracted_frames: number | null;
  error_code: string | null;
  error_message: string | null;
  uploaded_at: DefaultedTimestamp;
  extracting_at: Timestamp | null;
  detecting_at: Timestamp | null;
  completed_at: Timestamp | null;
  failed_at: Timestamp | null;
  canceled_at: Timestamp | null;
  updated_at: DefaultedTimestamp;
}

export interface FramesTable {
  video_id: string;
  frame_index: number;
  time_ms: number;
  recorded_at: Date | null;
  storage_key: string;
  created_at: DefaultedTimestamp;
}

export interface FrameResultsTable {
  video_id: string;
  frame_index: number;
  model: string;
  detections: ColumnType<Detection[], string, string>;
  inference_ms: number | null;
  worker_id: string | null;
  created_at: DefaultedTimestamp;
  camera_id: string | null;
  recorded_at: Date | null;
  time_ms: number;
  /** Derived from `detections` by the writer: `{ "<class>": <count> }` (= `fw_class_counts`). */
  class_counts: ColumnType<Record<string, number>, string, string>;
}

export interface FrameFailuresTable {
  video_id: string;
  frame_index: number;
  model: string;
  error_code: string;
  error_message: string;
  worker_id: string | null;
  attempts: number | null;
  failed_at: DefaultedTimestamp;
}

/**
 * The hourly rollup of class histograms (migration 0002), kept equal to `frame_results` by
 * statement-level triggers. Results without wall-clock time are not in it.
 */
export interface FrameClassHoursTable {
  /** `fw_hour_floor(recorded_at)`: hours binned from a fixed UTC origin. */
  hour: Date;
  camera_id: string | null;
  class: string;
  detections: number;
  frames: number;
}

/** API keys (migration 0003): only the SHA-256 of a key is stored; revoking sets `revoked_at`. */
export interface ApiKeysTable {
  id: string;
  name: string;
  /** Lowercase hex SHA-256 of the key. */
  key_sha256: string;
  created_at: DefaultedTimestamp;
  revoked_at: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
}

/** The view `frame_class_counts`: one row per (frame, class present). */
export interface FrameClassCountsView {
  video_id: string;
  frame_index: number;
  model: string;
  camera_id: string | null;
  recorded_at: Date | null;
  time_ms: number;
  class: string;
  count: number;
}

/** Every table and view, for `Kysely<Database>`. */
export interface Database {
  videos: VideosTable;
  frames: FramesTable;
  frame_results: FrameResultsTable;
  frame_failures: FrameFailuresTable;
  frame_class_counts: FrameClassCountsView;
  frame_class_hours: FrameClassHoursTable;
  api_keys: ApiKeysTable;
}
