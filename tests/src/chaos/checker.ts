// The final verdict of a chaos run, read from Postgres (the source of truth) and from the
// Redis queues: every frame ffprobe says the sampling yields is in the manifest and has
// exactly one outcome (a result or a recorded permanent failure), every video finished,
// every queue empty.
import type { Redis } from 'ioredis';
import { sql } from 'kysely';
import type { QueryExecutorProvider } from 'kysely';
import { frameQueue, videoQueue } from '@framewise/contracts';

/** A video the suite uploaded, and what it must yield. */
export interface ExpectedVideo {
  /** The upload's file name: unique per video in a run, the key that finds its rows. */
  readonly filename: string;
  /** Frames the sampling yields, counted by ffprobe. */
  readonly frames: number;
  /** Red squares in every frame: the detections each result must hold. */
  readonly squares: number;
}

/** What Postgres holds for one video row. */
export interface ObservedVideo {
  readonly id: string;
  readonly filename: string;
  readonly status: string;
  /** Manifest rows with frame_index < the expected count. */
  readonly manifestInRange: number;
  /** Manifest rows with frame_index ≥ the expected count (frames that should not exist). */
  readonly manifestExtra: number;
  /** Manifest frames (of those in range) with no result and no failure. */
  readonly noOutcome: number;
  /** Manifest frames with more than one outcome row: the number of extra rows. */
  readonly extraOutcomes: number;
  readonly results: number;
  readonly failures: number;
  /** Results whose detection count is not the number of squares drawn. */
  readonly wrongResults: number;
}

/** Jobs left in the queues. */
export interface QueueLeftovers {
  /** pending + processing + delayed, frames and videos queues together. */
  readonly live: number;
  readonly dead: number;
}

/** The verdict. */
export interface CheckReport {
  readonly videos: number;
  readonly videos_finished: number;
  readonly videos_unfinished: string[];
  readonly videos_failed: string[];
  /** Uploaded files with no video row at all (an upload the API acknowledged, then lost). */
  readonly videos_missing: string[];
  /** Video rows for a file beyond the first (an upload retry that created a second video). */
  readonly videos_duplicated: number;
  readonly frames_expected: number;
  readonly frames_in_manifest: number;
  readonly results: number;
  readonly failures: number;
  /** Expected frames with no outcome: missing from the manifest, or in it with neither result nor failure. */
  readonly lost: number;
  /** Extra outcome rows for a frame, plus manifest rows for frames ffprobe says do not exist. */
  readonly duplicated: number;
  readonly wrong_results: number;
  readonly queue_jobs_left: number;
  readonly dead_letters: number;
  readonly ok: boolean;
}

const FINISHED = new Set(['completed', 'completed_with_errors']);

/** Pure: the verdict from what was expected and what was observed. */
export function judge(
  expected: readonly ExpectedVideo[],
  observed: readonly ObservedVideo[],
  queues: QueueLeftovers,
): CheckReport {
  const byFile = new Map<string, ObservedVideo[]>();
  for (const video of observed) {
    const list = byFile.get(video.filename) ?? [];
    list.push(video);
    byFile.set(video.filename, list);
  }
  let lost = 0;
  let duplicated = 0;
  let framesExpected = 0;
  let manifest = 0;
  let results = 0;
  let failures = 0;
  let wrong = 0;
  let duplicateVideos = 0;
  const missing: string[] = [];
  for (const want of expected) {
    framesExpected += want.frames;
    const rows = byFile.get(want.filename) ?? [];
    if (rows.length === 0) {
      missing.push(want.filename);
      lost += want.frames;
      continue;
    }
    duplicateVideos += rows.length - 1;
    for (const row of rows) {
      // Every row for the file must be complete: a duplicate video is checked like the first.
      lost += want.frames - row.manifestInRange + row.noOutcome;
      duplicated += row.extraOutcomes + row.manifestExtra;
      manifest += row.manifestInRange + row.manifestExtra;
      results += row.results;
      failures += row.failures;
      wrong += row.wrongResults;
    }
  }
  const known = new Set(expected.map((e) => e.filename));
  const strangers = observed.filter((o) => !known.has(o.filename));
  const unfinished = observed.filter((o) => !FINISHED.has(o.status) && o.status !== 'failed');
  const failed = observed.filter((o) => o.status === 'failed');
  const report: Omit<CheckReport, 'ok'> = {
    videos: observed.length,
    videos_finished: observed.length - unfinished.length - failed.length,
    videos_unfinished: unfinished.map((o) => `${o.filename} ${o.id} ${o.status}`),
    videos_failed: [
      ...failed.map((o) => `${o.filename} ${o.id}`),
      ...strangers.map((o) => `${o.filename} ${o.id}: not uploaded by this run`),
    ],
    videos_missing: missing,
    videos_duplicated: duplicateVideos,
    frames_expected: framesExpected,
    frames_in_manifest: manifest,
    results,
    failures,
    lost,
    duplicated,
    wrong_results: wrong,
    queue_jobs_left: queues.live,
    dead_letters: queues.dead,
  };
  const ok =
    lost === 0 &&
    duplicated === 0 &&
    wrong === 0 &&
    unfinished.length === 0 &&
    report.videos_failed.length === 0 &&
    missing.length === 0 &&
    queues.live === 0;
  return { ...report, ok };
}

/**
 * Per video row: manifest, outcomes and result shapes, in one query. `squares` gives the
 * detection count each file's results must have.
 */
export async function observeVideos(
  db: QueryExecutorProvider,
  expected: readonly ExpectedVideo[],
): Promise<ObservedVideo[]> {
  const files = expected.map((e) => e.filename);
  const frames = expected.map((e) => e.frames);
  const squares = expected.map((e) => e.squares);
  const { rows } = await sql<{
    id: string;
    filename: string;
    status: string;
    manifest_in_range: number;
    manifest_extra: number;
    no_outcome: number;
    extra_outcomes: number;
    results: number;
    failures: number;
    wrong_results: number;
  }>`
    WITH want AS (
      SELECT * FROM unnest(${files}::text[], ${frames}::int[], ${squares}::int[])
        AS w(filename, frames, squares)
    ),
    per_frame AS (
      SELECT f.video_id, f.frame_index,
             (SELECT count(*) FROM frame_results r
               WHERE r.video_id = f.video_id AND r.frame_index = f.frame_index) AS results,
             (SELECT count(*) FROM frame_failures x
               WHERE x.video_id = f.video_id AND x.frame_index = f.frame_index) AS failures
      FROM frames f
    )
    SELECT v.id::text AS id, v.original_filename AS filename, v.status,
           count(p.frame_index) FILTER (WHERE p.frame_index < coalesce(w.frames, 0))::int
             AS manifest_in_range,
           count(p.frame_index) FILTER (WHERE p.frame_index >= coalesce(w.frames, 0))::int
             AS manifest_extra,
           count(p.frame_index) FILTER (
             WHERE p.frame_index < coalesce(w.frames, 0) AND p.results + p.failures = 0
           )::int AS no_outcome,
           coalesce(sum(greatest(p.results + p.failures - 1, 0)), 0)::int AS extra_outcomes,
           coalesce(sum(p.results), 0)::int AS results,
           coalesce(sum(p.failures), 0)::int AS failures,
           (SELECT count(*) FROM frame_results r
             WHERE r.video_id = v.id
               AND (r.model <> v.model
                    OR jsonb_array_length(r.detections) <> coalesce(w.squares, -1)
                    OR EXISTS (SELECT 1 FROM jsonb_array_elements(r.detections) d
                               WHERE d ->> 'class' <> 'red_square')))::int AS wrong_results
    FROM videos v
    LEFT JOIN want w ON w.filename = v.original_filename
    LEFT JOIN per_frame p ON p.video_id = v.id
    GROUP BY v.id, v.original_filename, v.status, v.model, w.frames, w.squares
    ORDER BY v.original_filename, v.id
  `.execute(db);
  return rows.map((r) => ({
    id: r.id,
    filename: r.filename,
    status: r.status,
    manifestInRange: r.manifest_in_range,
    manifestExtra: r.manifest_extra,
    noOutcome: r.no_outcome,
    extraOutcomes: r.extra_outcomes,
    results: r.results,
    failures: r.failures,
    wrongResults: r.wrong_results,
  }));
}

/** Jobs left in the frames and videos queues (every registered consumer's processing list included). */
export async function queueLeftovers(redis: Redis, keyPrefix: string): Promise<QueueLeftovers> {
  let live = 0;
  let dead = 0;
  for (const queue of [frameQueue({ keyPrefix }), videoQueue({ keyPrefix })]) {
    const keys = queue.keys;
    // Processing lists of consumers that are no longer registered count too: SCAN finds them.
    const processing = await scanKeys(redis, keys.processing('x').replace(/x$/, '*'));
    const lengths = await Promise.all(processing.map((k) => redis.llen(k)));
    live +=
      (await redis.llen(keys.pending)) +
      (await redis.zcard(keys.delayed)) +
      lengths.reduce((a, b) => a + b, 0);
    dead += await redis.llen(keys.dead);
  }
  return { live, dead };
}

async function scanKeys(redis: Redis, pattern: string): Promise<string[]> {
  const found: string[] = [];
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
    found.push(...keys);
    cursor = next;
  } while (cursor !== '0');
  return found;
}
