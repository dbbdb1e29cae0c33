// One chaos run: a fresh system, 10+ videos uploaded over HTTP, a fault window, a drain, and
// the verdict from Postgres and Redis.
import { randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { sql } from 'kysely';
import { createDatabase } from '@framewise/db';
import { writeRedSquareModel } from '@framewise/detector';
import type { SamplingSpec } from '../support/red-square-video';
import {
  ffprobeSampledFrames,
  laneSquares,
  writeRedSquareVideo,
} from '../support/red-square-video';
import { uploadWithRetry } from '../support/upload';
import type { CheckReport, ExpectedVideo } from './checker';
import { judge, observeVideos, queueLeftovers } from './checker';
import type { InjectedFault } from './injector';
import { FaultInjector } from './injector';
import type { ChaosOptions, Fsync } from './options';
import type { FaultKind } from './schedule';
import { countByKind, planFaults } from './schedule';
import type { ChaosSystem } from './system';

/** What a run needs to start a system (@framewise/stack's startStack, wired in main.ts). */
export type SystemFactory = (input: {
  dataDir: string;
  modelPath: string;
  fsync: Fsync;
  /** Extra environment for every service. */
  env: Record<string, string>;
  /** Every line a service prints. */
  onLog: (service: string, line: string) => void;
}) => Promise<ChaosSystem>;

/**
 * Log messages of the recovery paths (reaper reclaims and reconciliations), counted per run
 * so a report shows which paths the faults exercised.
 */
export const RECOVERY_MESSAGES = {
  frame_jobs_reclaimed: 'reclaimed stalled jobs',
  video_jobs_reclaimed: 'reclaimed stalled video jobs',
  frames_reenqueued: 're-enqueued manifest frames that were in no queue list',
  videos_reenqueued: 're-enqueued videos awaiting extraction whose job was in no queue list',
} as const;
type Recovery = keyof typeof RECOVERY_MESSAGES;

/** Counts log lines carrying each recovery message (pino JSON: `"msg":"…"`). */
export function recoveryCounter(): {
  onLog: (service: string, line: string) => void;
  counts: Record<Recovery, number>;
} {
  const entries = Object.entries(RECOVERY_MESSAGES) as [Recovery, string][];
  const counts = Object.fromEntries(entries.map(([k]) => [k, 0])) as Record<Recovery, number>;
  return {
    counts,
    onLog: (_service, line) => {
      for (const [kind, message] of entries) {
        if (line.includes(`"msg":"${message}"`)) counts[kind] += 1;
      }
    },
  };
}

/** The report of one run (one fsync mode). */
export interface RunReport extends CheckReport {
  readonly fsync: Fsync;
  readonly seed: number;
  readonly faults: Record<FaultKind, number>;
  readonly faults_skipped: number;
  readonly fault_window_seconds: number;
  /** Seconds from the last fault (and the last replacement process up) to an empty, finished system. */
  readonly drain_seconds: number | null;
  readonly upload_retries: number;
  readonly uploads_failed: string[];
  readonly restarts_failed: string[];
  /** Log lines of each recovery path during the run (reaper passes that did something). */
  readonly recoveries: Record<Recovery, number>;
  /**
   * Status of an authenticated `GET /v1/videos` after the drain; anything but 200 fails the
   * run. API keys live in Postgres, so the FLUSHALL and the Redis kills must not revoke the
   * key (401 here meant exactly that before they moved); 0 when the API did not answer.
   */
  readonly api_status_after: number;
  readonly data_dir: string | null;
}

/**
 * Service settings for a run: shorter timers than production, so a fault's recovery fits in
 * a few minutes (heartbeat 5 s instead of 15, reconcile every 3 s with a 10 s grace instead of
 * every 30 s with 2 min), small extraction batches so a killed extractor leaves half-done work.
 */
export const CHAOS_SERVICE_ENV: Readonly<Record<string, string>> = {
  LOG_LEVEL: 'info',
  WORKER_THREADS: '1',
  WORKER_HEARTBEAT_TTL: '5s',
  REAPER_RECLAIM_INTERVAL: '1s',
  REAPER_FINALIZE_INTERVAL: '1s',
  REAPER_RECONCILE_INTERVAL: '3s',
  REAPER_RECONCILE_GRACE: '10s',
  EXTRACT_BATCH_SIZE: '8',
};

const SAMPLINGS: readonly SamplingSpec[] = ['all', 'every:2', 'fps:10'];

export interface PreparedVideo extends ExpectedVideo {
  readonly file: string;
  readonly sampling: SamplingSpec;
}

/**
 * Writes the videos (1280×720, 15 fps, lengths cycled from `seconds`, 1–3 squares, three
 * samplings) and counts the frames each sampling yields with ffprobe; two at a time.
 */
export async function prepareVideos(
  dir: string,
  count: number,
  seconds: readonly number[],
): Promise<PreparedVideo[]> {
  await mkdir(dir, { recursive: true });
  const make = async (i: number): Promise<PreparedVideo> => {
    const squares = 1 + ((i + 1) % 3);
    const durationS = seconds[i % seconds.length] ?? 10;
    const sampling = SAMPLINGS[i % SAMPLINGS.length] ?? 'all';
    const filename = `chaos-${String(i).padStart(2, '0')}.mp4`;
    const file = path.join(dir, filename);
    const shape = { width: 1280, height: 720, durationS };
    await writeRedSquareVideo(file, { ...shape, fps: 15, squares: laneSquares(squares, shape) });
    const frames = await ffprobeSampledFrames(file, sampling);
    return { file, filename, sampling, frames, squares };
  };
  const videos: PreparedVideo[] = [];
  for (let i = 0; i < count; i += 2) {
    const pair = [make(i), ...(i + 1 < count ? [make(i + 1)] : [])];
    videos.push(...(await Promise.all(pair)));
  }
  return videos;
}

/** One run on a fresh system, with `videos` from {@link prepareVideos}. */
export async function runChaos(
  options: ChaosOptions,
  videos: readonly PreparedVideo[],
  fsync: Fsync,
  startSystem: SystemFactory,
  log: (line: string) => void,
): Promise<RunReport> {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), `framewise-chaos-${fsync}-`));
  log(`run fsync=${fsync} seed=${options.seed}: data in ${dataDir}`);
  const modelPath = path.join(dataDir, 'red-square.onnx');
  await writeRedSquareModel(modelPath, { inputSize: 320 });
  log(`starting the system (4 workers, 2 extractors, 2 reapers, Redis appendfsync ${fsync})`);

  const recoveries = recoveryCounter();
  const system = await startSystem({
    dataDir,
    modelPath,
    fsync,
    env: { ...CHAOS_SERVICE_ENV },
    onLog: recoveries.onLog,
  });
  const admin = new Redis(system.redisUrl, { maxRetriesPerRequest: null, lazyConnect: false });
  admin.on('error', () => undefined);
  const db = createDatabase({ url: system.databaseUrl, maxConnections: 2 });
  let keep = options.keep;
  try {
    const report = await exercise(system, admin, db, videos, options, fsync, log);
    // A failed run keeps its data (service logs, AOF, Postgres) for the post-mortem.
    keep ||= !report.ok;
    return { ...report, recoveries: { ...recoveries.counts }, data_dir: keep ? dataDir : null };
  } catch (error) {
    keep = true;
    throw error;
  } finally {
    admin.disconnect();
    await db.destroy().catch(() => undefined);
    await system.stop().catch((error: unknown) => {
      log(`stopping the system failed: ${String(error)}`);
    });
    if (keep) log(`data kept in ${dataDir} (logs/ has every service's output)`);
    else await rm(dataDir, { recursive: true, force: true });
  }
}

async function exercise(
  system: ChaosSystem,
  admin: Redis,
  db: ReturnType<typeof createDatabase>,
  videos: readonly PreparedVideo[],
  options: ChaosOptions,
  fsync: Fsync,
  log: (line: string) => void,
): Promise<Omit<RunReport, 'data_dir' | 'recoveries'>> {
  const faults = planFaults({
    durationMs: options.durationMs,
    seed: options.seed,
    processKillEveryMs: options.processKillEveryMs,
    redisKills: options.redisKills,
    flushalls: 1,
    postgresRestarts: options.postgresRestarts,
    clientKills: options.clientKills,
    infraFromMs: options.uploadSpreadMs + 5_000,
  });
  const injector = new FaultInjector(system, admin, { keyPrefix: system.keyPrefix, log });
  const startedAt = performance.now();
  const elapsed = () => ((performance.now() - startedAt) / 1000).toFixed(0);
  const stopProgress = startProgress(db, admin, system.keyPrefix, (line) => {
    log(`[${elapsed()}s] ${line}`);
  });

  // Uploads, spread over the first part of the window while workers are already being killed.
  let retries = 0;
  const uploadsFailed: string[] = [];
  const uploads = Promise.all(
    videos.map(async (video, i) => {
      await sleep((options.uploadSpreadMs * i) / videos.length);
      try {
        await uploadWithRetry(
          {
            apiUrl: system.apiUrl,
            apiKey: system.apiKey,
            file: video.file,
            sampling: video.sampling,
            idempotencyKey: randomUUID(),
          },
          Date.now() + options.durationMs,
          () => {
            retries++;
          },
        );
      } catch (error) {
        uploadsFailed.push(`${video.filename}: ${String(error)}`);
      }
    }),
  );
  // Redis and Postgres faults wait for the uploads to end. Not for the API key (it lives in
  // Postgres and survives a FLUSHALL: `api_status_after` checks that), but because
  // Idempotency-Key records live in Redis: an upload whose 202 was lost to a Redis kill and
  // then retried after the FLUSHALL would be stored twice, which the checker counts as a
  // duplicate although no frame was duplicated by the pipeline.
  const injected: InjectedFault[] = await injector.run(faults, startedAt, uploads);
  await uploads;
  const restartsFailed = await injector.settle();
  const lastFault = performance.now();
  log(
    `[${elapsed()}s] fault window over: ${injected.filter((f) => f.injected).length} faults; draining`,
  );

  let drainSeconds: number | null = null;
  const drainDeadline = lastFault + options.drainTimeoutMs;
  while (performance.now() < drainDeadline) {
    if (await drained(db, admin, system.keyPrefix, videos.length - uploadsFailed.length)) {
      drainSeconds = Math.round((performance.now() - lastFault) / 100) / 10;
      break;
    }
    await sleep(500);
  }
  stopProgress();
  log(
    drainSeconds === null
      ? `not drained after ${options.drainTimeoutMs / 1000} s; judging what is there`
      : `drained ${drainSeconds} s after the last fault`,
  );

  const apiStatusAfter = await fetch(`${system.apiUrl}/v1/videos?limit=1`, {
    headers: { authorization: `Bearer ${system.apiKey}` },
    signal: AbortSignal.timeout(10_000),
  }).then(
    (response) => response.status,
    () => 0,
  );
  const verdict = judge(
    videos,
    await observeVideos(db, videos),
    await queueLeftovers(admin, system.keyPrefix),
  );
  const done = injected.filter((f) => f.injected);
  return {
    fsync,
    seed: options.seed,
    faults: countByKind(done),
    faults_skipped: injected.length - done.length,
    fault_window_seconds: options.durationMs / 1000,
    drain_seconds: drainSeconds,
    upload_retries: retries,
    uploads_failed: uploadsFailed,
    restarts_failed: restartsFailed,
    api_status_after: apiStatusAfter,
    ...verdict,
    ok: runPassed({
      verdictOk: verdict.ok,
      drainSeconds,
      uploadsFailed,
      restartsFailed,
      apiStatusAfter,
    }),
  };
}

/**
 * Whether a run passed: the verdict from Postgres and Redis holds, the system drained, every
 * upload and every replacement process succeeded, and the API still accepts the run's key.
 */
export function runPassed(run: {
  readonly verdictOk: boolean;
  readonly drainSeconds: number | null;
  readonly uploadsFailed: readonly string[];
  readonly restartsFailed: readonly string[];
  readonly apiStatusAfter: number;
}): boolean {
  return (
    run.verdictOk &&
    run.drainSeconds !== null &&
    run.uploadsFailed.length === 0 &&
    run.restartsFailed.length === 0 &&
    run.apiStatusAfter === 200
  );
}

/** Whether every uploaded video has finished and no queue holds a job. */
async function drained(
  db: ReturnType<typeof createDatabase>,
  admin: Redis,
  keyPrefix: string,
  uploaded: number,
): Promise<boolean> {
  try {
    const { rows } = await sql<{ videos: number; open: number }>`
      SELECT count(*)::int AS videos,
             count(*) FILTER (WHERE status IN ('uploaded', 'extracting', 'detecting'))::int AS open
      FROM videos
    `.execute(db);
    const row = rows[0];
    if (row === undefined || row.videos < uploaded || row.open > 0) return false;
    return (await queueLeftovers(admin, keyPrefix)).live === 0;
  } catch {
    return false; // a server still coming back
  }
}

/** A progress line every 5 s on the given sink; returns the stop function. */
function startProgress(
  db: ReturnType<typeof createDatabase>,
  admin: Redis,
  keyPrefix: string,
  line: (text: string) => void,
): () => void {
  const stop = new AbortController();
  const tick = async () => {
    for (;;) {
      try {
        await sleep(5000, undefined, { signal: stop.signal });
      } catch {
        return; // stopped
      }
      try {
        const { rows } = await sql<{
          videos: number;
          finished: number;
          frames: number;
          results: number;
          failures: number;
        }>`
          SELECT (SELECT count(*) FROM videos)::int AS videos,
                 (SELECT count(*) FROM videos
                   WHERE status IN ('completed', 'completed_with_errors', 'failed'))::int AS finished,
                 (SELECT count(*) FROM frames)::int AS frames,
                 (SELECT count(*) FROM frame_results)::int AS results,
                 (SELECT count(*) FROM frame_failures)::int AS failures
        `.execute(db);
        const r = rows[0];
        const queues = await queueLeftovers(admin, keyPrefix);
        if (r !== undefined) {
          line(
            `videos ${r.finished}/${r.videos} finished | frames ${r.frames} extracted, ` +
              `${r.results} results, ${r.failures} failures | queued ${queues.live}, dead ${queues.dead}`,
          );
        }
      } catch (error) {
        line(`(progress unavailable: ${String(error).slice(0, 120)})`);
      }
    }
  };
  void tick();
  return () => {
    stop.abort();
  };
}
