// `npm run bench:db [-- --frames N] [--batch B] [--concurrency C]`
//
// Loads N frame results (default 1,000,000; about 5 detections each over 80 classes, 100
// cameras, 30 days) into two databases of one private Postgres: OURS (the @framewise/db
// schema: derived class histogram, camera/time indexes) and NAIVE (one JSONB column, primary
// and foreign keys only). Reports batched insert throughput of both, and the median latency
// (5 runs after a warm-up, ours and naive interleaved) of every documented analytics query
// and its naive equivalent, after checking that both return the same answer.
// Progress goes to stderr; the last stdout line is the JSON summary.
import fs from 'node:fs';
import os from 'node:os';
import type { Kysely } from 'kysely';
import { CompiledQuery, sql } from 'kysely';
import pg from 'pg';
import type { AnalyticsQueryName, Database, Detection, FrameResult } from '@framewise/db';
import {
  ANALYTICS_SQL,
  createDatabase,
  FrameRepository,
  migrateToLatest,
  newVideoId,
  ResultRepository,
  VideoRepository,
} from '@framewise/db';
import { startPostgres } from '@framewise/testing';
import { median, progress, report, round, timeMs } from './support';

const args = parseArgs(process.argv.slice(2));
const FRAMES = args.frames ?? 1_000_000;
const BATCH = args.batch ?? 1000;
const CONCURRENCY = args.concurrency ?? 2;
const FRAMES_PER_VIDEO = 1000;
const FRAME_INTERVAL_MS = 2000; // one sampled frame every 2 s: a video spans 33 minutes
const CAMERAS = 100;
const DAYS = 30;
const RUNS = 5;
const MODEL = { name: 'yolo11n', version: '8.3.0' };
const MODEL_KEY = `${MODEL.name}@${MODEL.version}`;

// The 80 COCO classes, most frequent first: a Zipf-like mix where persons and cars dominate,
// as on street cameras.
const CLASSES = [
  'person', 'car', 'bicycle', 'motorcycle', 'bus', 'truck', 'traffic light', 'stop sign',
  'dog', 'backpack', 'handbag', 'umbrella', 'bench', 'bird', 'cat', 'suitcase', 'bottle',
  'cup', 'chair', 'potted plant', 'fire hydrant', 'parking meter', 'train', 'boat',
  'airplane', 'horse', 'sheep', 'cow', 'elephant', 'bear', 'zebra', 'giraffe', 'tie',
  'frisbee', 'skis', 'snowboard', 'sports ball', 'kite', 'baseball bat', 'baseball glove',
  'skateboard', 'surfboard', 'tennis racket', 'wine glass', 'fork', 'knife', 'spoon', 'bowl',
  'banana', 'apple', 'sandwich', 'orange', 'broccoli', 'carrot', 'hot dog', 'pizza', 'donut',
  'cake', 'couch', 'bed', 'dining table', 'toilet', 'tv', 'laptop', 'mouse', 'remote',
  'keyboard', 'cell phone', 'microwave', 'oven', 'toaster', 'sink', 'refrigerator', 'book',
  'clock', 'vase', 'scissors', 'teddy bear', 'hair drier', 'toothbrush',
]; // prettier-ignore
const CUMULATIVE = (() => {
  const weights = CLASSES.map((_, i) => 1 / (i + 1) ** 1.1);
  const total = weights.reduce((a, b) => a + b, 0);
  let acc = 0;
  return weights.map((w) => (acc += w / total));
})();

// ---- deterministic data -----------------------------------------------------------------

function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface BenchVideo {
  readonly id: string;
  readonly cameraId: string;
  readonly recordedAt: Date;
  readonly frames: number;
}

const VIDEOS = Math.max(1, Math.ceil(FRAMES / FRAMES_PER_VIDEO));
const T0 = Date.UTC(2025, 0, 1);
const SPAN_MS = DAYS * 86_400_000;

const videoCache = new Map<number, BenchVideo>();

/** Video number v (0-based, in recording order); the same object every time. */
function videoAt(v: number): BenchVideo {
  const cached = videoCache.get(v);
  if (cached) return cached;
  const video = makeVideo(v);
  videoCache.set(v, video);
  return video;
}

function makeVideo(v: number): BenchVideo {
  const recordedAt = T0 + Math.floor((v * SPAN_MS) / VIDEOS);
  return {
    id: newVideoId(recordedAt),
    cameraId: `cam-${String(v % CAMERAS).padStart(3, '0')}`,
    recordedAt: new Date(recordedAt),
    frames: Math.min(FRAMES_PER_VIDEO, FRAMES - v * FRAMES_PER_VIDEO),
  };
}

// Scores and coordinates as a detector produces them: float32 model outputs (scaled to the
// original frame), which print with 16–17 digits. Both schemas get the same values; ours
// stores them rounded (storedDetection), the naive one as they come.
function detectionsFor(random: () => number): Detection[] {
  const n = 3 + Math.floor(random() * 5); // 3..7, mean 5
  const out: Detection[] = [];
  for (let k = 0; k < n; k++) {
    const u = random();
    let classId = CUMULATIVE.findIndex((c) => u <= c);
    if (classId < 0) classId = CLASSES.length - 1;
    const x1 = Math.fround(random() * 1800) * 1.5;
    const y1 = Math.fround(random() * 1000) * 1.5;
    out.push({
      class: CLASSES[classId] ?? 'person',
      classId,
      score: Math.fround(0.25 + random() * 0.74),
      box: [
        x1,
        y1,
        x1 + Math.fround(20 + random() * 100) * 1.5,
        y1 + Math.fround(20 + random() * 80) * 1.5,
      ],
    });
  }
  return out;
}

function resultsFor(video: BenchVideo, seed: number): FrameResult[] {
  const random = rng(seed);
  return Array.from({ length: video.frames }, (_, i) => ({
    videoId: video.id,
    frameIndex: i,
    model: MODEL_KEY,
    detections: detectionsFor(random),
    inferenceMs: 10 + Math.round(random() * 200) / 10,
    workerId: `worker-${i % 8}`,
  }));
}

// ---- the naive schema ---------------------------------------------------------------------

const NAIVE_SCHEMA = `
CREATE TABLE videos (
  id uuid PRIMARY KEY, status text NOT NULL, camera_id text, recorded_at timestamptz,
  model text NOT NULL, storage_key text NOT NULL);
CREATE TABLE frames (
  video_id uuid NOT NULL REFERENCES videos (id) ON DELETE CASCADE,
  frame_index integer NOT NULL, time_ms integer NOT NULL, recorded_at timestamptz,
  storage_key text NOT NULL, PRIMARY KEY (video_id, frame_index));
CREATE TABLE frame_results (
  video_id uuid NOT NULL, frame_index integer NOT NULL, model text NOT NULL,
  detections jsonb NOT NULL, inference_ms real, worker_id text,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (video_id, frame_index, model),
  FOREIGN KEY (video_id, frame_index) REFERENCES frames ON DELETE CASCADE);`;

async function naiveInsertVideo(pool: pg.Pool, video: BenchVideo): Promise<void> {
  await pool.query(
    `INSERT INTO videos (id, status, camera_id, recorded_at, model, storage_key)
     VALUES ($1, 'detecting', $2, $3, $4, $5)`,
    [video.id, video.cameraId, video.recordedAt, MODEL_KEY, `videos/${video.id}/original.mp4`],
  );
  const indexes = Array.from({ length: video.frames }, (_, i) => i);
  await pool.query(
    `INSERT INTO frames (video_id, frame_index, time_ms, recorded_at, storage_key)
     SELECT $1, u.i, u.t, $2::timestamptz + u.t * interval '1 millisecond', u.k
     FROM unnest($3::int4[], $4::int4[], $5::text[]) AS u(i, t, k)`,
    [
      video.id,
      video.recordedAt,
      indexes,
      indexes.map((i) => i * FRAME_INTERVAL_MS),
      indexes.map((i) => `videos/${video.id}/frames/${i}.jpg`),
    ],
  );
}

async function naiveInsertResults(pool: pg.Pool, results: readonly FrameResult[]): Promise<void> {
  await pool.query(
    `INSERT INTO frame_results (video_id, frame_index, model, detections, inference_ms, worker_id)
     SELECT * FROM unnest($1::uuid[], $2::int4[], $3::text[], $4::jsonb[], $5::float4[], $6::text[])
     ON CONFLICT DO NOTHING`,
    [
      results.map((r) => r.videoId),
      results.map((r) => r.frameIndex),
      results.map((r) => r.model),
      results.map((r) => JSON.stringify(r.detections)),
      results.map((r) => r.inferenceMs ?? null),
      results.map((r) => r.workerId ?? null),
    ],
  );
}

// The naive equivalents of ANALYTICS_SQL: same parameters, same columns, computed from the
// raw detections with joins to the manifest and the videos.
const NAIVE_SQL: Record<AnalyticsQueryName, string> = {
  classCountsPerBucketForVideo: `
SELECT (f.time_ms / $2::int) * $2::int AS bucket_start_ms, d ->> 'class' AS class,
       count(*)::int AS detections, count(DISTINCT r.frame_index)::int AS frames
FROM frame_results AS r
JOIN frames AS f ON f.video_id = r.video_id AND f.frame_index = r.frame_index
CROSS JOIN jsonb_array_elements(r.detections) AS d
WHERE r.video_id = $1::uuid
GROUP BY 1, 2 ORDER BY 1, 2`,
  classCountsPerBucketForCamera: `
SELECT date_bin($4::interval, f.recorded_at, timestamptz '2000-01-01 00:00:00+00') AS bucket_start,
       d ->> 'class' AS class, count(*)::int AS detections,
       count(DISTINCT (r.video_id, r.frame_index))::int AS frames
FROM videos AS v
JOIN frames AS f ON f.video_id = v.id
JOIN frame_results AS r ON r.video_id = f.video_id AND r.frame_index = f.frame_index
CROSS JOIN jsonb_array_elements(r.detections) AS d
WHERE v.camera_id = $1 AND f.recorded_at >= $2::timestamptz AND f.recorded_at < $3::timestamptz
GROUP BY 1, 2 ORDER BY 1, 2`,
  classAtCamera: `
SELECT count(d.*)::int AS detections, count(DISTINCT (r.video_id, r.frame_index)) FILTER (WHERE d IS NOT NULL)::int AS frames
FROM videos AS v
JOIN frames AS f ON f.video_id = v.id
JOIN frame_results AS r ON r.video_id = f.video_id AND r.frame_index = f.frame_index
LEFT JOIN LATERAL jsonb_array_elements(r.detections) AS d ON d ->> 'class' = $2
WHERE v.camera_id = $1 AND f.recorded_at >= $3::timestamptz AND f.recorded_at < $4::timestamptz`,
  classPerCamera: `
SELECT v.camera_id, count(*)::int AS detections,
       count(DISTINCT (r.video_id, r.frame_index))::int AS frames
FROM videos AS v
JOIN frames AS f ON f.video_id = v.id
JOIN frame_results AS r ON r.video_id = f.video_id AND r.frame_index = f.frame_index
CROSS JOIN jsonb_array_elements(r.detections) AS d
WHERE f.recorded_at >= $2::timestamptz AND f.recorded_at < $3::timestamptz
  AND v.camera_id IS NOT NULL AND d ->> 'class' = $1
GROUP BY v.camera_id ORDER BY detections DESC, v.camera_id`,
  topClasses: `
SELECT d ->> 'class' AS class, count(*)::int AS detections,
       count(DISTINCT (r.video_id, r.frame_index))::int AS frames
FROM frames AS f
JOIN frame_results AS r ON r.video_id = f.video_id AND r.frame_index = f.frame_index
CROSS JOIN jsonb_array_elements(r.detections) AS d
WHERE f.recorded_at >= $1::timestamptz AND f.recorded_at < $2::timestamptz
GROUP BY 1 ORDER BY detections DESC, class LIMIT $3::int`,
  framesWithAtLeast: `
SELECT r.video_id, r.frame_index, f.recorded_at, n.count
FROM videos AS v
JOIN frames AS f ON f.video_id = v.id
JOIN frame_results AS r ON r.video_id = f.video_id AND r.frame_index = f.frame_index
CROSS JOIN LATERAL (
  SELECT count(*)::int AS count FROM jsonb_array_elements(r.detections) AS d
  WHERE d ->> 'class' = $1) AS n
WHERE v.camera_id = $3 AND f.recorded_at >= $4::timestamptz AND f.recorded_at < $5::timestamptz
  AND n.count >= $2::int
ORDER BY f.recorded_at, r.video_id, r.frame_index LIMIT $6::int`,
};

// ---- main ---------------------------------------------------------------------------------

async function main(): Promise<void> {
  progress(
    `db bench: ${FRAMES} frames in ${VIDEOS} videos, batch ${BATCH}, ${CONCURRENCY} writers`,
  );
  // A bulk load with the default 1 GB max_wal_size checkpoints every few seconds, and the
  // 1M-frame table is over 1 GB: give both schemas the headroom a production server would have.
  const server = await startPostgres({
    settings: { shared_buffers: '1GB', max_wal_size: '8GB' },
  });
  let ours: Kysely<Database> | undefined;
  let naive: pg.Pool | undefined;
  try {
    const admin = new pg.Client({ connectionString: server.url });
    await admin.connect();
    await admin.query('CREATE DATABASE ours');
    await admin.query('CREATE DATABASE naive');
    await admin.end();

    ours = createDatabase({ url: server.databaseUrl('ours'), maxConnections: CONCURRENCY + 1 });
    naive = new pg.Pool({
      connectionString: server.databaseUrl('naive'),
      max: CONCURRENCY + 1,
      idleTimeoutMillis: 0,
    });
    // Idle clients see the server stop at the end; without a listener that crashes the run.
    naive.on('error', () => undefined);
    const sharedBuffers = (await sql<{ shared_buffers: string }>`SHOW shared_buffers`.execute(ours))
      .rows[0]?.shared_buffers;
    progress(`shared_buffers ${String(sharedBuffers)}, load average ${loadAverage()}`);
    await migrateToLatest(ours);
    await naive.query(NAIVE_SCHEMA);

    const load = await loadBoth(ours, naive, await ServerCpu.of(ours));
    progress('vacuum analyze (what autovacuum does after a load; index-only scans need it)');
    await sql`VACUUM ANALYZE`.execute(ours);
    await naive.query('VACUUM ANALYZE');

    const sizes = {
      ours_mb: await sizeMb(ours),
      naive_mb: await sizeMb(naive),
    };
    const queries = await runQueries(ours, naive);
    const progressMs = await timeProgress(ours);
    const redelivery = await timeRedelivery(ours);

    progress('');
    progress('query                          ours ms   naive ms   naive/ours');
    for (const [name, q] of Object.entries(queries)) {
      progress(
        `${name.padEnd(30)} ${String(q.ours_ms).padStart(7)} ${String(q.naive_ms).padStart(10)} ${String(q.ratio).padStart(12)}`,
      );
    }
    const carsLastHour = queries.classAtCamera;
    report({
      bench: 'db',
      frames: FRAMES,
      batch: BATCH,
      writers: CONCURRENCY,
      shared_buffers: sharedBuffers,
      load_average: loadAverage(),
      insert_frames_per_s: load.oursFramesPerS,
      naive_insert_frames_per_s: load.naiveFramesPerS,
      insert_ratio_ours_over_naive: round(load.oursFramesPerS / load.naiveFramesPerS),
      insert_server_cpu_us_per_frame: load.oursServerCpuUs,
      naive_insert_server_cpu_us_per_frame: load.naiveServerCpuUs,
      manifest_frames_per_s: load.manifestFramesPerS,
      max_query_ms: Math.max(...Object.values(queries).map((q) => q.ours_ms)),
      cars_last_hour_ms: carsLastHour?.ours_ms,
      progress_ms: progressMs,
      redelivered_batch_ms: redelivery,
      ...sizes,
      queries,
      ratios_naive_over_ours: Object.fromEntries(
        Object.entries(queries).map(([name, q]) => [name, q.ratio]),
      ),
    });
  } finally {
    await ours?.destroy();
    await naive?.end();
    await server.stop();
  }
}

interface LoadFigures {
  oursFramesPerS: number;
  naiveFramesPerS: number;
  manifestFramesPerS: number;
  /** Server CPU (all Postgres processes) per frame loaded, µs; null where /proc is not ours. */
  oursServerCpuUs: number | null;
  naiveServerCpuUs: number | null;
}

async function loadBoth(
  ours: Kysely<Database>,
  naive: pg.Pool,
  cpu: ServerCpu,
): Promise<LoadFigures> {
  const videos = new VideoRepository(ours);
  const frames = new FrameRepository(ours);
  const results = new ResultRepository(ours);
  let oursMs = 0;
  let naiveMs = 0;
  let manifestMs = 0;
  let oursCpuMs = 0;
  let naiveCpuMs = 0;
  let loaded = 0;
  const started = performance.now();
  // Chunks of videos, ours and naive alternating who goes first, so both see the same
  // machine load and the same growing table sizes.
  const CHUNK = 10;
  for (let first = 0; first < VIDEOS; first += CHUNK) {
    const chunk = Array.from({ length: Math.min(CHUNK, VIDEOS - first) }, (_, k) =>
      videoAt(first + k),
    );
    manifestMs += await timeMs(async () => {
      for (const v of chunk) {
        await videos.create({
          id: v.id,
          originalFilename: `${v.cameraId}.mp4`,
          contentType: 'video/mp4',
          sizeBytes: 50_000_000,
          storageKey: `videos/${v.id}/original.mp4`,
          sampling: { kind: 'fps', fps: 0.5 },
          cameraId: v.cameraId,
          recordedAt: v.recordedAt,
          modelName: MODEL.name,
          modelVersion: MODEL.version,
        });
        await frames.insertManifest(
          v.id,
          Array.from({ length: v.frames }, (_, i) => ({
            index: i,
            timeMs: i * FRAME_INTERVAL_MS,
            storageKey: `videos/${v.id}/frames/${i}.jpg`,
          })),
        );
      }
    });
    for (const v of chunk) await naiveInsertVideo(naive, v);

    const rows = chunk.flatMap((v, k) => resultsFor(v, first + k + 1));
    const batches: FrameResult[][] = [];
    for (let i = 0; i < rows.length; i += BATCH) batches.push(rows.slice(i, i + BATCH));
    const runOurs = async () => {
      const before = cpu.snapshot();
      const ms = await timeMs(() => inParallel(batches, (b) => results.insertResults(b)));
      oursCpuMs += cpu.msSince(before);
      return ms;
    };
    const runNaive = async () => {
      const before = cpu.snapshot();
      const ms = await timeMs(() => inParallel(batches, (b) => naiveInsertResults(naive, b)));
      naiveCpuMs += cpu.msSince(before);
      return ms;
    };
    if ((first / CHUNK) % 2 === 0) {
      oursMs += await runOurs();
      naiveMs += await runNaive();
    } else {
      naiveMs += await runNaive();
      oursMs += await runOurs();
    }
    loaded += rows.length;
    if ((first / CHUNK) % 10 === 0 || loaded === FRAMES) {
      const elapsed = (performance.now() - started) / 1000;
      progress(
        `loaded ${loaded}/${FRAMES} frames (${Math.round((100 * loaded) / FRAMES)}%) in ${elapsed.toFixed(0)} s: ` +
          `ours ${Math.round(loaded / (oursMs / 1000))} frames/s, naive ${Math.round(loaded / (naiveMs / 1000))} frames/s; ` +
          `server CPU per frame: ours ${perFrameUs(oursCpuMs, loaded, cpu)} µs, naive ${perFrameUs(naiveCpuMs, loaded, cpu)} µs`,
      );
    }
  }
  return {
    oursFramesPerS: Math.round(loaded / (oursMs / 1000)),
    naiveFramesPerS: Math.round(loaded / (naiveMs / 1000)),
    manifestFramesPerS: Math.round(loaded / (manifestMs / 1000)),
    oursServerCpuUs: perFrameUs(oursCpuMs, loaded, cpu),
    naiveServerCpuUs: perFrameUs(naiveCpuMs, loaded, cpu),
  };
}

function perFrameUs(cpuMs: number, frames: number, cpu: ServerCpu): number | null {
  return cpu.available ? round((cpuMs * 1000) / frames, 1) : null;
}

/**
 * CPU time used by the private Postgres (the postmaster and its children: backends, WAL
 * writer, checkpointer, autovacuum), read from /proc. On a shared machine wall-clock
 * throughput moves with everyone else's load; the CPU a load costs the server moves much
 * less, so the bench reports both. Unavailable (null) when the server runs where this
 * process cannot see its processes (Docker on another kernel, not Linux).
 */
class ServerCpu {
  private constructor(private readonly postmaster: number | undefined) {}

  static async of(db: Kysely<Database>): Promise<ServerCpu> {
    try {
      const { rows } = await sql<{ pid: number }>`SELECT pg_backend_pid() AS pid`.execute(db);
      const ppid = statFields(Number(rows[0]?.pid))[1];
      const postmaster = Number(ppid);
      return new ServerCpu(Number.isInteger(postmaster) && postmaster > 1 ? postmaster : undefined);
    } catch {
      return new ServerCpu(undefined);
    }
  }

  get available(): boolean {
    return this.postmaster !== undefined;
  }

  /** CPU ticks per live server process. */
  snapshot(): Map<number, number> {
    const ticks = new Map<number, number>();
    if (this.postmaster === undefined) return ticks;
    for (const entry of fs.readdirSync('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      const pid = Number(entry);
      try {
        const f = statFields(pid);
        if (pid === this.postmaster || Number(f[1]) === this.postmaster) {
          ticks.set(pid, Number(f[11]) + Number(f[12])); // utime + stime
        }
      } catch {
        // exited meanwhile
      }
    }
    return ticks;
  }

  /** CPU milliseconds the server used since `before` (processes that exited meanwhile lost). */
  msSince(before: ReadonlyMap<number, number>): number {
    let ticks = 0;
    for (const [pid, now] of this.snapshot()) ticks += now - (before.get(pid) ?? 0);
    return ticks * TICK_MS;
  }
}

/** USER_HZ is 100 on every Linux platform Node supports. */
const TICK_MS = 10;

/** The fields of /proc/PID/stat after the command name (state is [0], ppid [1]). */
function statFields(pid: number): string[] {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
}

/** Runs `fn` over `items` with at most CONCURRENCY in flight (one per writer connection). */
async function inParallel<T>(
  items: readonly T[],
  fn: (item: T) => Promise<unknown>,
): Promise<void> {
  let next = 0;
  const lane = async () => {
    while (next < items.length) {
      const item = items[next++];
      if (item !== undefined) await fn(item);
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, lane));
}

interface QueryFigures {
  ours_ms: number;
  naive_ms: number;
  ratio: number;
  rows: number;
}

async function runQueries(
  ours: Kysely<Database>,
  naive: pg.Pool,
): Promise<Record<string, QueryFigures>> {
  // "Now" is the end of the last video, and camera X is the one that recorded it, so the
  // last hour at camera X holds a whole video (1,000 frames): the busy case.
  const last = videoAt(VIDEOS - 1);
  const now = new Date(last.recordedAt.getTime() + FRAMES_PER_VIDEO * FRAME_INTERVAL_MS);
  const ago = (ms: number): Date => new Date(now.getTime() - ms);
  const hour = 3_600_000;
  const day = 24 * hour;
  const params: Record<AnalyticsQueryName, unknown[]> = {
    classCountsPerBucketForVideo: [last.id, 60_000],
    classCountsPerBucketForCamera: [last.cameraId, ago(7 * day), now, '1 hour'],
    classAtCamera: [last.cameraId, 'car', ago(hour), now],
    classPerCamera: ['car', ago(day), now],
    topClasses: [ago(day), now, 10],
    framesWithAtLeast: ['person', 3, last.cameraId, ago(7 * day), now, 100],
  };
  const out: Record<string, QueryFigures> = {};
  for (const name of Object.keys(ANALYTICS_SQL) as AnalyticsQueryName[]) {
    const p = params[name];
    const oursRows = await oursQuery(ours, ANALYTICS_SQL[name], p);
    const naiveRows = (await naive.query(NAIVE_SQL[name], p)).rows as Record<string, unknown>[];
    const same = JSON.stringify(oursRows) === JSON.stringify(naiveRows);
    if (!same) {
      throw new Error(
        `${name}: ours and naive disagree\nours:  ${JSON.stringify(oursRows).slice(0, 400)}\nnaive: ${JSON.stringify(naiveRows).slice(0, 400)}`,
      );
    }
    const oursTimes: number[] = [];
    const naiveTimes: number[] = [];
    for (let run = 0; run < RUNS; run++) {
      oursTimes.push(
        await timeMs(() => oursQuery(ours, ANALYTICS_SQL[name], p).then(() => undefined)),
      );
      naiveTimes.push(await timeMs(() => naive.query(NAIVE_SQL[name], p).then(() => undefined)));
    }
    const oursMs = median(oursTimes);
    const naiveMs = median(naiveTimes);
    out[name] = {
      ours_ms: round(oursMs),
      naive_ms: round(naiveMs),
      ratio: round(naiveMs / oursMs, 1),
      rows: oursRows.length,
    };
    progress(
      `${name}: ours ${round(oursMs)} ms, naive ${round(naiveMs)} ms (${oursRows.length} rows, answers agree)`,
    );
  }
  return out;
}

async function oursQuery(
  db: Kysely<Database>,
  text: string,
  params: unknown[],
): Promise<Record<string, unknown>[]> {
  return (await db.executeQuery<Record<string, unknown>>(CompiledQuery.raw(text, params))).rows;
}

async function timeProgress(db: Kysely<Database>): Promise<number> {
  const videos = new VideoRepository(db);
  const id = videoAt(VIDEOS - 1).id;
  await videos.progress(id);
  const times: number[] = [];
  for (let run = 0; run < RUNS; run++)
    times.push(await timeMs(() => videos.progress(id).then(() => undefined)));
  return round(median(times));
}

/** A whole batch delivered again: every row conflicts, nothing is written. */
async function timeRedelivery(db: Kysely<Database>): Promise<number> {
  const results = new ResultRepository(db);
  const batch = resultsFor(videoAt(0), 1).slice(0, BATCH);
  const times: number[] = [];
  for (let run = 0; run < RUNS; run++) {
    times.push(
      await timeMs(async () => {
        const outcome = await results.insertResults(batch);
        if (outcome.inserted !== 0) throw new Error('a redelivered batch wrote rows');
      }),
    );
  }
  return round(median(times));
}

async function sizeMb(db: Kysely<Database> | pg.Pool): Promise<number> {
  const text = 'SELECT pg_database_size(current_database()) AS bytes';
  const bytes =
    db instanceof pg.Pool
      ? (await db.query<{ bytes: string }>(text)).rows[0]?.bytes
      : (
          await sql<{
            bytes: string;
          }>`SELECT pg_database_size(current_database()) AS bytes`.execute(db)
        ).rows[0]?.bytes;
  return Math.round(Number(bytes ?? 0) / 1_000_000);
}

/** The 1, 5 and 15 minute load averages: the machine is shared, so every figure needs them. */
function loadAverage(): string {
  return os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');
}

function parseArgs(argv: readonly string[]): {
  frames?: number;
  batch?: number;
  concurrency?: number;
} {
  const out: Record<string, number> = {};
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const value = Number(argv[i + 1]);
    if (flag === '--frames' || flag === '--batch' || flag === '--concurrency') {
      if (!Number.isInteger(value) || value < 1)
        throw new Error(`${flag} needs a positive whole number`);
      out[flag.slice(2)] = value;
      i++;
    } else {
      throw new Error(
        `unknown argument ${String(flag)}; use --frames N, --batch B, --concurrency C`,
      );
    }
  }
  return out;
}

main().catch((error: unknown) => {
  process.stderr.write(
    `${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exitCode = 1;
});
