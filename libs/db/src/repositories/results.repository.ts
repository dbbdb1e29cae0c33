import type { Kysely, RawBuilder } from 'kysely';
import { sql } from 'kysely';
import type { Page } from '../cursor';
import { FrameGoneError } from '../errors';
import { decodeCursor, encodeCursor } from '../cursor';
import type { Database, Detection, VideoStatus } from '../schema';
import { clampLimit } from './videos.repository';

/** One frame's result, as a worker writes it. */
export interface FrameResult {
  readonly videoId: string;
  readonly frameIndex: number;
  /** The video's model key (`name@version`, {@link Video.model}). */
  readonly model: string;
  readonly detections: readonly Detection[];
  readonly inferenceMs?: number | null;
  readonly workerId?: string | null;
}

/** A frame that failed for good (a corrupt image, say): retrying will not help. */
export interface FrameFailure {
  readonly videoId: string;
  readonly frameIndex: number;
  readonly model: string;
  readonly errorCode: string;
  readonly errorMessage: string;
  readonly workerId?: string | null;
  readonly attempts?: number | null;
}

/** What a batch write did. */
export interface WriteOutcome {
  /** Rows this call created. */
  readonly inserted: number;
  /**
   * Rows not written because they already existed (a redelivered job) or because the frame
   * is not in the manifest (its video was deleted). `inserted + skipped` = batch size.
   */
  readonly skipped: number;
}

/** A frame's detections, after the listing's filters. */
export interface FrameDetections {
  readonly frameIndex: number;
  readonly timeMs: number;
  readonly recordedAt: Date | null;
  readonly detections: Detection[];
}

/** Filters for {@link ResultRepository.listDetections}. */
export interface DetectionFilter {
  /** Only detections of these classes (by name). */
  readonly classes?: readonly string[];
  /** Only detections scoring at least this. */
  readonly minScore?: number;
  /** Only frames at or after this time in the video (ms). */
  readonly fromMs?: number;
  /** Only frames before this time in the video (ms). */
  readonly toMs?: number;
  /** Page size, 1–1000 (default 100). */
  readonly limit?: number;
  readonly cursor?: string;
}

const CURSOR_KIND = 'detections';

/**
 * The per-frame class histogram stored with a result, `{ "<class>": <count> }`: the same as
 * the SQL function `fw_class_counts(detections)` (the integration tests hold them equal).
 */
export function classCounts(detections: readonly Detection[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const d of detections) counts[d.class] = (counts[d.class] ?? 0) + 1;
  return counts;
}

/**
 * A detection as it is stored: scores and keypoint confidences to 4 decimals, coordinates to
 * 0.1 pixel. Detectors produce float32 values that print with 16–17 digits
 * (`0.8912345409393311`); those digits carry no information, yet they make each stored
 * detection about twice as long and are what Postgres spends most of its JSON decoding on.
 */
export function storedDetection(d: Detection): Detection {
  return {
    class: d.class,
    classId: d.classId,
    score: round(d.score, 1e4),
    box: [round(d.box[0], 10), round(d.box[1], 10), round(d.box[2], 10), round(d.box[3], 10)],
    ...(d.keypoints === undefined
      ? {}
      : {
          keypoints: d.keypoints.map(
            ([x, y, c]) => [round(x, 10), round(y, 10), round(c, 1e4)] as const,
          ),
        }),
  };
}

function round(value: number, scale: number): number {
  return Math.round(value * scale) / scale;
}

/**
 * Frame results and permanent failures. Writes are idempotent on (video, frame, model):
 * delivery is at-least-once, results are exactly-once.
 */
export class ResultRepository {
  constructor(private readonly db: Kysely<Database>) {}

  /**
   * Writes a batch of results in ONE statement and says how many were new. Detections are
   * stored rounded ({@link storedDetection}). Existing rows win
   * (ON CONFLICT DO NOTHING): a redelivered job, or two workers racing on the same frame,
   * write nothing twice and neither fails. Camera, wall-clock and video time are copied from
   * the manifest and the video in the same statement. Frames not in the manifest, and every
   * frame of a video deleted before or while this runs, are skipped (counted in `skipped`).
   * A batch whose first row is already stored is treated as a redelivery: its keys are checked
   * first and only the missing rows are sent.
   *
   * @throws FrameGoneError when a manifest row was deleted on its own (not with its video)
   *   while this statement ran; nothing of the batch was written.
   */
  async insertResults(results: readonly FrameResult[]): Promise<WriteOutcome> {
    if (results.length === 0) return { inserted: 0, skipped: 0 };
    const fresh = await this.withoutStoredResults(results);
    if (fresh.length === 0) return { inserted: 0, skipped: results.length };
    // Rows go in key order: two writers inserting overlapping batches in different orders
    // would otherwise each wait on a key the other has just inserted (a deadlock); in one
    // order, the second simply waits for the first and then skips its rows.
    // `live` locks the batch's videos (usually one or two rows) FOR KEY SHARE before any row
    // is written: a video deletion that committed first leaves its frames out of the join (so
    // they are skipped, not a foreign-key violation), and one that starts later waits for
    // this transaction and then deletes these results with the video. The count comes from
    // the command tag, so no RETURNING rows are collected.
    const written = await guardForeignKey(
      sql`
        WITH live AS MATERIALIZED (
          SELECT id, camera_id FROM videos
          WHERE id = ANY (${distinctVideoIds(fresh)}::uuid[])
          ORDER BY id
          FOR KEY SHARE
        )
        ${insertRows(fresh)}
      `.execute(this.db),
    );
    return outcome(written.numAffectedRows, results.length);
  }

  /**
   * A redelivered batch (a worker that died after writing, a job retried after a lost ack)
   * costs almost as much as a new one if sent whole: Postgres decodes every row's JSON and
   * probes the key of each before ON CONFLICT discards it. So one primary-key probe of the
   * batch's first row decides: absent (the normal case) and the batch goes as it is; present,
   * and only the rows whose keys are absent are sent. ON CONFLICT still decides in the end, so
   * a row written by someone else in between is skipped as before.
   */
  private async withoutStoredResults(
    results: readonly FrameResult[],
  ): Promise<readonly FrameResult[]> {
    const [first] = results;
    if (first === undefined) return results;
    const { rows: probe } = await sql`
      SELECT 1 FROM frame_results
      WHERE video_id = ${first.videoId} AND frame_index = ${first.frameIndex}
        AND model = ${first.model}
    `.execute(this.db);
    if (probe.length === 0) return results;
    return this.storedNot(results);
  }

  /** The results of `results` whose keys are not stored yet. */
  private async storedNot(results: readonly FrameResult[]): Promise<readonly FrameResult[]> {
    const { rows: absent } = await sql<{ i: string }>`
      SELECT u.i FROM unnest(${results.map((r) => r.videoId)}::uuid[],
                             ${results.map((r) => r.frameIndex)}::int4[],
                             ${results.map((r) => r.model)}::text[])
                      WITH ORDINALITY AS u(video_id, frame_index, model, i)
      WHERE NOT EXISTS (
        SELECT 1 FROM frame_results AS r
        WHERE r.video_id = u.video_id AND r.frame_index = u.frame_index AND r.model = u.model)
    `.execute(this.db);
    return absent.flatMap((row) => results[Number(row.i) - 1] ?? []);
  }

  /**
   * {@link insertResults} in ONE round trip, for the videos that are in one of `statuses` when
   * the statement runs: the rows of a video in any other status are skipped, like those of a
   * deleted video. The statuses are read in the statement, from the video rows it locks, and
   * returned, so a worker learns that a video was canceled while its batch was detected
   * without a status query of its own. The redelivery probe is in the statement too: when the
   * batch's first row is stored, nothing is written, and a second statement sends only the
   * missing rows.
   *
   * Made for a worker's batches (tens of frames), where a round trip costs more than the
   * batch: unlike {@link insertResults}, a redelivered batch is sent and decoded once before
   * the probe can stop it (a few kB here; bulk writers of thousands of rows use
   * insertResults, which probes first).
   *
   * @returns the outcome and the status of each of the batch's videos that exists (as the
   *   write saw it; absent: the video is gone).
   * @throws FrameGoneError as {@link insertResults} does.
   */
  async insertResultsWhile(
    statuses: readonly VideoStatus[],
    results: readonly FrameResult[],
  ): Promise<WriteOutcome & { readonly videoStatuses: ReadonlyMap<string, VideoStatus> }> {
    if (results.length === 0) return { inserted: 0, skipped: 0, videoStatuses: new Map() };
    const first = await this.writeWhile(statuses, results, true);
    if (!first.redelivered) {
      const { inserted, videoStatuses } = first;
      return { inserted, skipped: results.length - inserted, videoStatuses };
    }
    const absent = await this.storedNot(results);
    const rest =
      absent.length === 0
        ? { inserted: 0, videoStatuses: first.videoStatuses }
        : await this.writeWhile(statuses, absent, false);
    return {
      inserted: rest.inserted,
      skipped: results.length - rest.inserted,
      videoStatuses: rest.videoStatuses,
    };
  }

  /**
   * The statement of {@link insertResultsWhile}: {@link insertResults}' statement (same video
   * lock, key order and ON CONFLICT) with the videos' statuses read from the locked rows and
   * filtered, and, with `probe`, the redelivery probe as a one-time gate: when the batch's
   * first row is stored, the insert reads nothing. The new rows are counted from RETURNING,
   * since the statement also reports the probe and the statuses.
   */
  private async writeWhile(
    statuses: readonly VideoStatus[],
    results: readonly FrameResult[],
    probe: boolean,
  ): Promise<{ inserted: number; redelivered: boolean; videoStatuses: Map<string, VideoStatus> }> {
    const [first] = results;
    const redelivery =
      probe && first !== undefined
        ? sql`EXISTS (
            SELECT 1 FROM frame_results
            WHERE video_id = ${first.videoId} AND frame_index = ${first.frameIndex}
              AND model = ${first.model})`
        : sql`false`;
    const { rows } = await guardForeignKey(
      sql<{
        inserted: string;
        redelivered: boolean;
        videos: { id: string; status: VideoStatus }[];
      }>`
        WITH live AS MATERIALIZED (
          SELECT id, camera_id, status FROM videos
          WHERE id = ANY (${distinctVideoIds(results)}::uuid[])
          ORDER BY id
          FOR KEY SHARE
        ),
        probe AS (SELECT ${redelivery} AS hit),
        written AS (
          ${insertRows(results, {
            videoFilter: sql`AND v.status = ANY (${[...statuses]}::text[])`,
            where: sql`WHERE NOT (SELECT hit FROM probe)`,
            returning: true,
          })}
        )
        SELECT (SELECT count(*) FROM written) AS inserted,
               (SELECT hit FROM probe) AS redelivered,
               (SELECT coalesce(json_agg(json_build_object('id', id, 'status', status)), '[]')
                FROM live) AS videos
      `.execute(this.db),
    );
    const row = rows[0];
    return {
      inserted: Number(row?.inserted ?? 0),
      redelivered: row?.redelivered === true,
      videoStatuses: new Map((row?.videos ?? []).map((v) => [v.id, v.status])),
    };
  }

  /**
   * Records permanent per-frame failures in one statement; the first failure recorded for a
   * (video, frame, model) stays. Frames not in the manifest, and frames of a video deleted
   * before or while this runs, are skipped (the same video lock as {@link insertResults}).
   *
   * @throws FrameGoneError as {@link insertResults} does.
   */
  async recordFailures(failures: readonly FrameFailure[]): Promise<WriteOutcome> {
    if (failures.length === 0) return { inserted: 0, skipped: 0 };
    const written = await guardForeignKey(
      sql`
        WITH live AS MATERIALIZED (
          SELECT id FROM videos
          WHERE id = ANY (${distinctVideoIds(failures)}::uuid[])
          ORDER BY id
          FOR KEY SHARE
        )
        INSERT INTO frame_failures
          (video_id, frame_index, model, error_code, error_message, worker_id, attempts)
        SELECT u.video_id, u.frame_index, u.model, u.error_code, u.error_message,
               u.worker_id, u.attempts
        FROM unnest(${failures.map((f) => f.videoId)}::uuid[],
                    ${failures.map((f) => f.frameIndex)}::int4[],
                    ${failures.map((f) => f.model)}::text[],
                    ${failures.map((f) => f.errorCode)}::text[],
                    ${failures.map((f) => f.errorMessage)}::text[],
                    ${failures.map((f) => f.workerId ?? null)}::text[],
                    ${failures.map((f) => f.attempts ?? null)}::int4[])
               AS u(video_id, frame_index, model, error_code, error_message, worker_id, attempts)
        JOIN live AS v ON v.id = u.video_id
        JOIN frames AS f ON f.video_id = u.video_id AND f.frame_index = u.frame_index
        ORDER BY u.video_id, u.frame_index, u.model
        ON CONFLICT (video_id, frame_index, model) DO NOTHING
      `.execute(this.db),
    );
    return outcome(written.numAffectedRows, failures.length);
  }

  /**
   * A video's detections for its own model, frame by frame in order, keeping only the
   * detections that pass the filters (and only frames with at least one when `classes` or
   * `minScore` is given). Keyset-paged on the frame index.
   */
  async listDetections(
    videoId: string,
    filter: DetectionFilter = {},
  ): Promise<Page<FrameDetections>> {
    const limit = clampLimit(filter.limit, 100);
    const after =
      filter.cursor === undefined ? -1 : Number(decodeCursor(CURSOR_KIND, filter.cursor));
    const classes = filter.classes === undefined ? null : [...filter.classes];
    const minScore = filter.minScore ?? null;
    const filtering = classes !== null || minScore !== null;
    const { rows } = await sql<{
      frame_index: number;
      time_ms: number;
      recorded_at: Date | null;
      detections: Detection[] | null;
    }>`
      SELECT r.frame_index, r.time_ms, r.recorded_at, kept.detections
      FROM frame_results AS r
      CROSS JOIN LATERAL (
        SELECT coalesce(jsonb_agg(d ORDER BY ord), '[]'::jsonb) AS detections
        FROM jsonb_array_elements(r.detections) WITH ORDINALITY AS e(d, ord)
        WHERE (${classes}::text[] IS NULL OR d ->> 'class' = ANY (${classes}::text[]))
          AND (${minScore}::float8 IS NULL OR (d ->> 'score')::float8 >= ${minScore}::float8)
      ) AS kept
      WHERE r.video_id = ${videoId}
        AND r.model = (SELECT model FROM videos WHERE id = ${videoId})
        AND r.frame_index > ${after}
        ${filter.fromMs === undefined ? sql`` : sql`AND r.time_ms >= ${filter.fromMs}`}
        ${filter.toMs === undefined ? sql`` : sql`AND r.time_ms < ${filter.toMs}`}
        ${classes === null ? sql`` : sql`AND r.class_counts ?| ${classes}::text[]`}
        ${filtering ? sql`AND kept.detections <> '[]'::jsonb` : sql``}
      ORDER BY r.frame_index
      LIMIT ${limit + 1}
    `.execute(this.db);
    const items = rows.slice(0, limit).map((r) => ({
      frameIndex: r.frame_index,
      timeMs: r.time_ms,
      recordedAt: r.recorded_at,
      detections: r.detections ?? [],
    }));
    const last = items.at(-1);
    return rows.length > limit && last
      ? { items, nextCursor: encodeCursor(CURSOR_KIND, last.frameIndex) }
      : { items };
  }
}

/**
 * The INSERT both result writes share, after a `live` CTE that locked the batch's videos: the
 * rows of `results` joined to those videos (and `videoFilter`) and to the manifest, in key
 * order (concurrent writers of overlapping batches then wait for each other instead of
 * deadlocking), existing rows winning (ON CONFLICT DO NOTHING). `where` filters the rows;
 * `returning` adds RETURNING 1 for a caller that counts them in a CTE.
 */
function insertRows(
  results: readonly FrameResult[],
  options: {
    videoFilter?: RawBuilder<unknown>;
    where?: RawBuilder<unknown>;
    returning?: boolean;
  } = {},
): RawBuilder<unknown> {
  return sql`
    INSERT INTO frame_results
      (video_id, frame_index, model, detections, class_counts, inference_ms, worker_id,
       camera_id, recorded_at, time_ms)
    SELECT u.video_id, u.frame_index, u.model, u.detections, u.class_counts,
           u.inference_ms, u.worker_id, v.camera_id, f.recorded_at, f.time_ms
    FROM jsonb_to_recordset(${batchJson(results)}::jsonb) AS u(
           video_id uuid, frame_index int4, model text, detections jsonb,
           class_counts jsonb, inference_ms float4, worker_id text)
    JOIN live AS v ON v.id = u.video_id ${options.videoFilter ?? sql``}
    JOIN frames AS f ON f.video_id = u.video_id AND f.frame_index = u.frame_index
    ${options.where ?? sql``}
    ORDER BY u.video_id, u.frame_index, u.model
    ON CONFLICT (video_id, frame_index, model) DO NOTHING
    ${options.returning === true ? sql`RETURNING 1` : sql``}
  `;
}

/**
 * A batch as ONE jsonb parameter: measured against unnest() over a jsonb[] parameter, this
 * halves the time Postgres spends decoding it (array literals of JSON escape every quote).
 * The class histogram is computed here, on the horizontally scaled worker, not by the database.
 */
function batchJson(results: readonly FrameResult[]): string {
  return JSON.stringify(
    results.map((r) => ({
      video_id: r.videoId,
      frame_index: r.frameIndex,
      model: r.model,
      detections: r.detections.map(storedDetection),
      class_counts: classCounts(r.detections),
      inference_ms: r.inferenceMs ?? null,
      worker_id: r.workerId ?? null,
    })),
  );
}

function distinctVideoIds(rows: readonly { readonly videoId: string }[]): string[] {
  return [...new Set(rows.map((r) => r.videoId))];
}

function outcome(numAffectedRows: bigint | undefined, batchSize: number): WriteOutcome {
  const inserted = Number(numAffectedRows ?? 0n);
  return { inserted, skipped: batchSize - inserted };
}

/** Postgres's foreign_key_violation. */
const FOREIGN_KEY_VIOLATION = '23503';

/** Runs a write, turning a foreign-key violation into {@link FrameGoneError}. */
async function guardForeignKey<T>(write: Promise<T>): Promise<T> {
  try {
    return await write;
  } catch (error) {
    if (
      typeof error === 'object' &&
      error !== null &&
      (error as { code?: unknown }).code === FOREIGN_KEY_VIOLATION
    ) {
      throw new FrameGoneError(error);
    }
    throw error;
  }
}
