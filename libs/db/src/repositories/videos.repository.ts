import type { Kysely, Selectable } from 'kysely';
import { sql } from 'kysely';
import type { Page } from '../cursor';
import { decodeCursor, encodeCursor } from '../cursor';
import { InvalidTransitionError, VideoNotFoundError } from '../errors';
import { newVideoId } from '../ids';
import { statusesLeadingTo, transitionColumn } from '../lifecycle';
import type { Database, VideosTable, VideoStatus } from '../schema';

/** A video as the rest of the system sees it (camelCase, numbers as numbers). */
export interface Video {
  readonly id: string;
  readonly status: VideoStatus;
  readonly originalFilename: string;
  readonly contentType: string;
  readonly sizeBytes: number;
  readonly storageKey: string;
  readonly probe: VideoProbe | null;
  readonly sampling: Sampling;
  readonly cameraId: string | null;
  readonly recordedAt: Date | null;
  readonly modelName: string;
  readonly modelVersion: string;
  /** `modelName@modelVersion`: the key this video's results are stored under. */
  readonly model: string;
  readonly expectedFrames: number | null;
  readonly extractedFrames: number | null;
  readonly error: { readonly code: string; readonly message: string } | null;
  readonly uploadedAt: Date;
  readonly extractingAt: Date | null;
  readonly detectingAt: Date | null;
  readonly completedAt: Date | null;
  readonly failedAt: Date | null;
  readonly canceledAt: Date | null;
  readonly updatedAt: Date;
}

/** ffprobe's answer for a video. */
export interface VideoProbe {
  readonly durationS: number;
  readonly fps: number;
  readonly width: number;
  readonly height: number;
  readonly codec: string;
}

/** How frames are sampled: a rate, every Nth frame, or every frame. */
export type Sampling =
  | { readonly kind: 'fps'; readonly fps: number }
  | { readonly kind: 'everyNth'; readonly n: number }
  | { readonly kind: 'all' };

/** What the API knows when a video is uploaded. */
export interface NewVideo {
  /** Defaults to a fresh uuid v7. */
  readonly id?: string;
  readonly originalFilename: string;
  readonly contentType: string;
  readonly sizeBytes: number;
  readonly storageKey: string;
  readonly sampling: Sampling;
  readonly cameraId?: string | null;
  readonly recordedAt?: Date | null;
  readonly modelName: string;
  readonly modelVersion: string;
}

/** Extra columns a transition may set along with the status. */
export interface TransitionDetails {
  /** Set on `failed` (and allowed on any status): why. */
  readonly error?: { readonly code: string; readonly message: string };
  /** Set when extraction ends (`detecting`): how many frames the manifest holds. */
  readonly extractedFrames?: number;
}

/** A video's progress, counted from the result and failure rows (no shared counter). */
export interface VideoProgress {
  readonly videoId: string;
  readonly status: VideoStatus;
  /** Frames the extractor expects (probe estimate), then the exact count once extracted. */
  readonly expected: number | null;
  /** Manifest rows so far. */
  readonly extracted: number;
  /** Frames with a result for the video's model. */
  readonly done: number;
  /** Frames with a permanent failure and no result. */
  readonly failed: number;
}

/** A video ready to finish: every manifest frame has a result or a permanent failure. */
export interface FinishableVideo {
  readonly videoId: string;
  readonly frames: number;
  readonly done: number;
  readonly failed: number;
}

/** Filters for {@link VideoRepository.list}. */
export interface ListVideosOptions {
  /** 1–1000, default 50. */
  readonly limit?: number;
  readonly cursor?: string;
  readonly status?: VideoStatus;
  readonly cameraId?: string;
}

const CURSOR_KIND = 'videos';

/**
 * The `videos` table: create, read, list (newest first, keyset cursor), lifecycle
 * transitions as compare-and-set, progress, finalization candidates, delete.
 */
export class VideoRepository {
  constructor(private readonly db: Kysely<Database>) {}

  /** Inserts an uploaded video and returns it. */
  async create(video: NewVideo): Promise<Video> {
    const row = await this.db
      .insertInto('videos')
      .values({
        id: video.id ?? newVideoId(),
        original_filename: video.originalFilename,
        content_type: video.contentType,
        size_bytes: video.sizeBytes,
        storage_key: video.storageKey,
        sample_fps: video.sampling.kind === 'fps' ? video.sampling.fps : null,
        sample_every_n: video.sampling.kind === 'everyNth' ? video.sampling.n : null,
        camera_id: video.cameraId ?? null,
        recorded_at: video.recordedAt ?? null,
        model_name: video.modelName,
        model_version: video.modelVersion,
      })
      .returningAll()
      .executeTakeFirstOrThrow();
    return toVideo(row);
  }

  /** The video, or undefined when there is none. */
  async find(id: string): Promise<Video | undefined> {
    const row = await this.db
      .selectFrom('videos')
      .selectAll()
      .where('id', '=', id)
      .executeTakeFirst();
    return row && toVideo(row);
  }

  /** @throws VideoNotFoundError */
  async get(id: string): Promise<Video> {
    const video = await this.find(id);
    if (!video) throw new VideoNotFoundError(id);
    return video;
  }

  /** Newest first. Keyset on the uuid v7 id, so a page costs the same at any depth. */
  async list(options: ListVideosOptions = {}): Promise<Page<Video>> {
    const limit = clampLimit(options.limit, 50);
    let query = this.db
      .selectFrom('videos')
      .selectAll()
      .orderBy('id', 'desc')
      .limit(limit + 1);
    if (options.cursor !== undefined) {
      query = query.where('id', '<', String(decodeCursor(CURSOR_KIND, options.cursor)));
    }
    if (options.status !== undefined) query = query.where('status', '=', options.status);
    if (options.cameraId !== undefined) query = query.where('camera_id', '=', options.cameraId);
    const rows = await query.execute();
    const items = rows.slice(0, limit).map(toVideo);
    const last = items.at(-1);
    return rows.length > limit && last
      ? { items, nextCursor: encodeCursor(CURSOR_KIND, last.id) }
      : { items };
  }

  /** Stores ffprobe's metadata and the expected frame count (before extraction starts). */
  async recordProbe(id: string, probe: VideoProbe, expectedFrames: number): Promise<Video> {
    const row = await this.db
      .updateTable('videos')
      .set({
        duration_s: probe.durationS,
        fps: probe.fps,
        width: probe.width,
        height: probe.height,
        codec: probe.codec,
        expected_frames: expectedFrames,
        updated_at: sql<Date>`now()`,
      })
      .where('id', '=', id)
      .returningAll()
      .executeTakeFirst();
    if (!row) throw new VideoNotFoundError(id);
    return toVideo(row);
  }

  /**
   * Moves a video to `to` if its current status allows it (see VIDEO_TRANSITIONS), stamping
   * the transition's timestamp column. One conditional UPDATE: of two racing callers, one wins.
   *
   * @throws VideoNotFoundError, InvalidTransitionError
   */
  async transition(
    id: string,
    to: Exclude<VideoStatus, 'uploaded'>,
    details: TransitionDetails = {},
  ): Promise<Video> {
    const row = await this.db
      .updateTable('videos')
      .set({
        status: to,
        [transitionColumn(to)]: sql<Date>`now()`,
        updated_at: sql<Date>`now()`,
        ...(details.error === undefined
          ? {}
          : { error_code: details.error.code, error_message: details.error.message }),
        ...(details.extractedFrames === undefined
          ? {}
          : { extracted_frames: details.extractedFrames }),
      })
      .where('id', '=', id)
      .where('status', 'in', statusesLeadingTo(to))
      .returningAll()
      .executeTakeFirst();
    if (row) return toVideo(row);
    const current = await this.find(id);
    if (!current) throw new VideoNotFoundError(id);
    throw new InvalidTransitionError(id, current.status, to);
  }

  /**
   * The status of each of `ids` that exists, in one query (a worker checks the distinct videos
   * of a batch for cancellation). Ids without a video are absent from the map.
   */
  async statuses(ids: readonly string[]): Promise<Map<string, VideoStatus>> {
    const found = new Map<string, VideoStatus>();
    if (ids.length === 0) return found;
    const rows = await this.db
      .selectFrom('videos')
      .select(['id', 'status'])
      .where('id', 'in', [...new Set(ids)])
      .execute();
    for (const row of rows) found.set(row.id, row.status);
    return found;
  }

  /**
   * Deletes the video and, by cascade, its manifest, results and failures, in one statement.
   * Returns whether there was such a video. Stored objects are the caller's to delete.
   */
  async delete(id: string): Promise<boolean> {
    const result = await this.db.deleteFrom('videos').where('id', '=', id).executeTakeFirst();
    return result.numDeletedRows > 0n;
  }

  /**
   * Progress counted from the rows themselves: each worker inserts its own result rows and
   * nobody updates a shared counter, so there is no hot row to contend on. The counts are
   * index-only scans of the primary keys' `video_id` prefix (about 1 ms per 10,000 frames).
   *
   * @throws VideoNotFoundError
   */
  async progress(id: string): Promise<VideoProgress> {
    const row = await this.db
      .selectFrom('videos as v')
      .where('v.id', '=', id)
      .select((eb) => [
        'v.status',
        sql<number | null>`coalesce(v.extracted_frames, v.expected_frames)`.as('expected'),
        eb
          .selectFrom('frames as f')
          .whereRef('f.video_id', '=', 'v.id')
          .select(sql<string>`count(*)`.as('n'))
          .as('extracted'),
        eb
          .selectFrom('frame_results as r')
          .whereRef('r.video_id', '=', 'v.id')
          .whereRef('r.model', '=', 'v.model')
          .select(sql<string>`count(*)`.as('n'))
          .as('done'),
        eb
          .selectFrom('frame_failures as x')
          .whereRef('x.video_id', '=', 'v.id')
          .whereRef('x.model', '=', 'v.model')
          .where((eb2) =>
            eb2.not(
              eb2.exists(
                eb2
                  .selectFrom('frame_results as r2')
                  .select(sql`1`.as('one'))
                  .whereRef('r2.video_id', '=', 'x.video_id')
                  .whereRef('r2.frame_index', '=', 'x.frame_index')
                  .whereRef('r2.model', '=', 'x.model'),
              ),
            ),
          )
          .select(sql<string>`count(*)`.as('n'))
          .as('failed'),
      ])
      .executeTakeFirst();
    if (!row) throw new VideoNotFoundError(id);
    return {
      videoId: id,
      status: row.status,
      expected: row.expected,
      extracted: Number(row.extracted ?? 0),
      done: Number(row.done ?? 0),
      failed: Number(row.failed ?? 0),
    };
  }

  /**
   * Ids of videos still waiting for or in extraction (`uploaded`, `extracting`) whose row has
   * not changed since `updatedBefore`, oldest first: the reaper checks that each still has a
   * job in the video queue (Redis may have lost it). Ordered by id and paged with `afterId`;
   * uses the partial unfinished-videos index.
   */
  async findAwaitingExtraction(
    updatedBefore: Date,
    limit = 500,
    afterId?: string,
  ): Promise<string[]> {
    const rows = await this.db
      .selectFrom('videos')
      .select('id')
      .where('status', 'in', ['uploaded', 'extracting'])
      .where('updated_at', '<', updatedBefore)
      .$if(afterId !== undefined, (q) => q.where('id', '>', afterId ?? ''))
      .orderBy('id')
      .limit(clampLimit(limit, 500))
      .execute();
    return rows.map((r) => r.id);
  }

  /**
   * Videos whose extraction has ended (`detecting`) and whose every manifest frame has a
   * result or a permanent failure for the video's model: the reaper's finalizer moves them to
   * `completed` (failed = 0) or `completed_with_errors`.
   */
  async findFinishable(limit = 100): Promise<FinishableVideo[]> {
    const { rows } = await sql<{ video_id: string; frames: string; done: string; failed: string }>`
      SELECT v.id AS video_id, c.frames, c.done, c.frames - c.done AS failed
      FROM videos AS v
      CROSS JOIN LATERAL (
        SELECT count(*) AS frames,
               count(r.frame_index) AS done,
               count(*) FILTER (WHERE r.frame_index IS NULL AND x.frame_index IS NULL) AS open
        FROM frames AS f
        LEFT JOIN frame_results AS r
          ON r.video_id = f.video_id AND r.frame_index = f.frame_index AND r.model = v.model
        LEFT JOIN frame_failures AS x
          ON x.video_id = f.video_id AND x.frame_index = f.frame_index AND x.model = v.model
        WHERE f.video_id = v.id
      ) AS c
      WHERE v.status = 'detecting' AND c.open = 0
      ORDER BY v.id
      LIMIT ${clampLimit(limit, 100)}
    `.execute(this.db);
    return rows.map((r) => ({
      videoId: r.video_id,
      frames: Number(r.frames),
      done: Number(r.done),
      failed: Number(r.failed),
    }));
  }
}

/** Bounds a page size to [1, 1000]. */
export function clampLimit(limit: number | undefined, fallback: number): number {
  if (limit === undefined || !Number.isFinite(limit)) return fallback;
  return Math.min(1000, Math.max(1, Math.floor(limit)));
}

function toVideo(row: Selectable<VideosTable>): Video {
  const probe =
    row.duration_s !== null &&
    row.fps !== null &&
    row.width !== null &&
    row.height !== null &&
    row.codec !== null
      ? {
          durationS: row.duration_s,
          fps: row.fps,
          width: row.width,
          height: row.height,
          codec: row.codec,
        }
      : null;
  const sampling: Sampling =
    row.sample_fps !== null
      ? { kind: 'fps', fps: row.sample_fps }
      : row.sample_every_n !== null
        ? { kind: 'everyNth', n: row.sample_every_n }
        : { kind: 'all' };
  return {
    id: row.id,
    status: row.status,
    originalFilename: row.original_filename,
    contentType: row.content_type,
    sizeBytes: Number(row.size_bytes),
    storageKey: row.storage_key,
    probe,
    sampling,
    cameraId: row.camera_id,
    recordedAt: row.recorded_at,
    modelName: row.model_name,
    modelVersion: row.model_version,
    model: row.model,
    expectedFrames: row.expected_frames,
    extractedFrames: row.extracted_frames,
    error:
      row.error_code !== null ? { code: row.error_code, message: row.error_message ?? '' } : null,
    uploadedAt: row.uploaded_at,
    extractingAt: row.extracting_at,
    detectingAt: row.detecting_at,
    completedAt: row.completed_at,
    failedAt: row.failed_at,
    canceledAt: row.canceled_at,
    updatedAt: row.updated_at,
  };
}
