import type { Kysely } from 'kysely';
import { sql } from 'kysely';
import type { Database } from '../schema';
import { clampLimit } from './videos.repository';

/** One extracted frame, as the extractor reports it. */
export interface ManifestFrame {
  readonly index: number;
  /** Timestamp of the frame in the video, in milliseconds. */
  readonly timeMs: number;
  readonly storageKey: string;
}

/** A manifest frame that still needs a result. */
export interface PendingFrame {
  readonly videoId: string;
  readonly frameIndex: number;
  readonly timeMs: number;
  readonly storageKey: string;
  /** The model key the result must be stored under. */
  readonly model: string;
  /** The video's upright size from its probe (what results are reported in), when known. */
  readonly sourceSize?: { readonly width: number; readonly height: number };
}

/** Options for {@link FrameRepository.findWithoutResult}. */
export interface FindWithoutResultOptions {
  /** Only frames whose manifest row is older than this (the grace period before "lost"). */
  readonly createdBefore: Date;
  /** Page size, 1–1000 (default 500). */
  readonly limit?: number;
  /** Continue after this frame (the last one of the previous page). */
  readonly after?: { readonly videoId: string; readonly frameIndex: number };
  /** Only this video (the API's "what is left" view); default every unfinished video. */
  readonly videoId?: string;
}

/**
 * The frame manifest: which frames exist and so must get a result. Written in batches by the
 * extractor; read by the reaper's reconciler.
 */
export class FrameRepository {
  constructor(private readonly db: Kysely<Database>) {}

  /**
   * Inserts a batch of manifest rows in one statement (arrays through `unnest`, so the
   * statement text and its plan are the same for any batch size). Wall-clock time is derived
   * here from the video's `recorded_at`. Rows that already exist are left alone, so an
   * extractor that restarts can re-send its batches. Returns how many rows were new.
   */
  async insertManifest(videoId: string, frames: readonly ManifestFrame[]): Promise<number> {
    if (frames.length === 0) return 0;
    const result = await sql`
      INSERT INTO frames (video_id, frame_index, time_ms, recorded_at, storage_key)
      SELECT v.id, u.frame_index, u.time_ms,
             v.recorded_at + u.time_ms * interval '1 millisecond', u.storage_key
      FROM videos AS v,
           unnest(${frames.map((f) => f.index)}::int4[],
                  ${frames.map((f) => Math.round(f.timeMs))}::int4[],
                  ${frames.map((f) => f.storageKey)}::text[])
             AS u(frame_index, time_ms, storage_key)
      WHERE v.id = ${videoId}
      ON CONFLICT (video_id, frame_index) DO NOTHING
    `.execute(this.db);
    return Number(result.numAffectedRows ?? 0n);
  }

  /** How many manifest rows a video has. */
  async count(videoId: string): Promise<number> {
    const row = await this.db
      .selectFrom('frames')
      .where('video_id', '=', videoId)
      .select(sql<string>`count(*)`.as('n'))
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }

  /**
   * Frames of unfinished videos (`extracting` or `detecting`) with neither a result nor a
   * permanent failure for the video's model, whose manifest row is older than
   * `createdBefore`. The reaper's reconciler re-enqueues those not in any queue list. Ordered
   * by (video, frame) and paged with `after`.
   */
  async findWithoutResult(options: FindWithoutResultOptions): Promise<PendingFrame[]> {
    const after = options.after;
    const { rows } = await sql<{
      video_id: string;
      frame_index: number;
      time_ms: number;
      storage_key: string;
      model: string;
      width: number | null;
      height: number | null;
    }>`
      SELECT f.video_id, f.frame_index, f.time_ms, f.storage_key, v.model, v.width, v.height
      FROM videos AS v
      JOIN frames AS f ON f.video_id = v.id
      WHERE v.status IN ('extracting', 'detecting')
        AND f.created_at < ${options.createdBefore}
        ${options.videoId === undefined ? sql`` : sql`AND v.id = ${options.videoId}`}
        ${after === undefined ? sql`` : sql`AND (f.video_id, f.frame_index) > (${after.videoId}::uuid, ${after.frameIndex}::int4)`}
        AND NOT EXISTS (
          SELECT 1 FROM frame_results AS r
          WHERE r.video_id = f.video_id AND r.frame_index = f.frame_index AND r.model = v.model)
        AND NOT EXISTS (
          SELECT 1 FROM frame_failures AS x
          WHERE x.video_id = f.video_id AND x.frame_index = f.frame_index AND x.model = v.model)
      ORDER BY f.video_id, f.frame_index
      LIMIT ${clampLimit(options.limit, 500)}
    `.execute(this.db);
    return rows.map((r) => ({
      videoId: r.video_id,
      frameIndex: r.frame_index,
      timeMs: r.time_ms,
      storageKey: r.storage_key,
      model: r.model,
      ...(r.width !== null && r.height !== null
        ? { sourceSize: { width: r.width, height: r.height } }
        : {}),
    }));
  }
}
