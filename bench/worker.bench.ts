// `npm run bench:worker` — the detection worker end to end, on a private Redis and Postgres.
//
// 1. Real model: frames/s of 1 and 2 worker PROCESSES (services/worker/src/main.ts, model
//    loaded and warm before timing starts) from enqueue to the last result row, against the
//    bare `session.run` loop on one prepared tensor (the hardware limit) in the same run.
//    Model ../shared/fixtures/models/yolov8n-int8.onnx, frames extracted with ffmpeg from
//    ../shared/fixtures/videos/street-people-1080p.mp4 at bench time (or FRAMEWISE_FIXTURES);
//    skipped, with a message, when the fixtures are absent.
// 2. Scale SIMULATION: 1, 8, 32, 64 workers with the SIMULATED fixed-latency detector (a real
//    Detector implementation, selected only here), so the orchestration (claim, read, write,
//    ack) is measured without a model. The workers run in this one process (64 processes do
//    not fit this 2-core machine), each with its own consumer and Redis connection.
//    Reports efficiency = frames/s ÷ (workers × one worker's frames/s), and Redis CPU.
// Last stdout line: JSON with `efficiency_real` and `scale_efficiency_64`.
// Settings: BENCH_FRAMES (real part, default 40), BENCH_SIM_BATCHES (batches per simulated
// worker, default 12), BENCH_SIM_LATENCY_MS (default 50), BENCH_THREADS (default all cores).
import { spawn, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import type { Kysely } from 'kysely';
import * as ort from 'onnxruntime-node';
import pg from 'pg';
import sharp from 'sharp';
import { int, loadConfig, text, z } from '@framewise/config';
import { frameJobId, frameKey, frameQueue } from '@framewise/contracts';
import type { Database } from '@framewise/db';
import {
  FrameRepository,
  ResultRepository,
  VideoRepository,
  createDatabase,
  migrateToLatest,
} from '@framewise/db';
import { createLogger, createMetricsRegistry } from '@framewise/observability';
import { QueueConsumer, QueueProducer } from '@framewise/queue';
import { LocalVolumeStorage } from '@framewise/storage';
import { startPostgres, startRedis } from '@framewise/testing';
/* eslint-disable import-x/no-relative-packages -- the simulation runs the worker's own classes
   in-process (services are otherwise never imported); see the header. */
import { DetectionWorker } from '../services/worker/src/detection/detection-worker';
import { SimulatedDetector } from '../services/worker/src/detection/simulated-detector';
import { FrameReader } from '../services/worker/src/frames/frame-reader';
import { WorkerMetrics } from '../services/worker/src/metrics/worker-metrics';
/* eslint-enable import-x/no-relative-packages */
import { median, progress, report, round } from './support';

const schema = z.object({
  BENCH_FRAMES: int({ min: 4, default: 40 }),
  BENCH_SIM_BATCHES: int({ min: 1, default: 12 }),
  BENCH_SIM_LATENCY_MS: int({ min: 1, default: 50 }),
  BENCH_THREADS: int({ min: 1, default: os.availableParallelism() }),
  FRAMEWISE_FIXTURES: text({ default: path.join(__dirname, '..', '..', 'shared', 'fixtures') }),
});
// eslint-disable-next-line no-restricted-properties -- this script is an entry point, like main.ts
const env = process.env;
const config = loadConfig(schema, env, { service: 'bench-worker' });
const root = path.resolve(__dirname, '..');
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'framewise-bench-worker-'));
const storageRoot = path.join(work, 'storage');
fs.mkdirSync(storageRoot);
const storage = new LocalVolumeStorage({ root: storageRoot });
const silent = createLogger({ service: 'bench-worker', level: 'silent' });

/** A video in `detecting` with frames stored and its manifest written; returns its jobs. */
async function seedVideo(
  db: Kysely<Database>,
  frames: readonly Buffer[],
  model: { name: string; version: string },
) {
  const videos = new VideoRepository(db);
  const video = await videos.create({
    originalFilename: 'bench.mp4',
    contentType: 'video/mp4',
    sizeBytes: 1,
    storageKey: 'videos/x/original.mp4',
    sampling: { kind: 'fps', fps: 1 },
    modelName: model.name,
    modelVersion: model.version,
  });
  await videos.transition(video.id, 'extracting');
  await Promise.all(frames.map((bytes, i) => storage.put(frameKey(video.id, i), bytes)));
  await new FrameRepository(db).insertManifest(
    video.id,
    frames.map((_, i) => ({ index: i, timeMs: i * 1000, storageKey: frameKey(video.id, i) })),
  );
  await videos.transition(video.id, 'detecting', { extractedFrames: frames.length });
  return frames.map((_, i) => {
    const data = {
      videoId: video.id,
      frameIndex: i,
      storageKey: frameKey(video.id, i),
      model: video.model,
    };
    return { id: frameJobId(data), group: video.id, data };
  });
}

async function resultCount(db: Kysely<Database>): Promise<number> {
  const row = await db
    .selectFrom('frame_results')
    .select((eb) => eb.fn.countAll<string>().as('n'))
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

async function waitForResults(db: Kysely<Database>, total: number): Promise<void> {
  while ((await resultCount(db)) < total) await new Promise((r) => setTimeout(r, 20));
}

/** Redis CPU seconds so far (user + sys), from INFO cpu. */
async function redisCpuSeconds(redis: Redis): Promise<number> {
  const info = await redis.info('cpu');
  const value = (name: string) => Number(new RegExp(`${name}:([0-9.]+)`).exec(info)?.[1] ?? 0);
  return value('used_cpu_user') + value('used_cpu_sys');
}

/** Starts worker processes and resolves once each has logged "worker ready". */
async function startWorkers(n: number, vars: Record<string, string>) {
  const children = Array.from({ length: n }, () =>
    spawn(process.execPath, ['--import', 'tsx', 'services/worker/src/main.ts'], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'inherit'],
      env: {
        PATH: env.PATH ?? '',
        TSX_TSCONFIG_PATH: path.join(root, 'services/worker/tsconfig.json'),
        OPS_PORT: '0',
        LOG_LEVEL: 'info',
        ...vars,
      },
    }),
  );
  await Promise.all(
    children.map(
      (child) =>
        new Promise<void>((resolve, reject) => {
          let buffered = '';
          child.stdout.on('data', (chunk: Buffer) => {
            buffered += chunk.toString();
            if (buffered.includes('"worker ready"')) resolve();
          });
          child.once('exit', (code) => {
            reject(new Error(`worker exited with ${code} before ready: ${buffered.slice(-2000)}`));
          });
        }),
    ),
  );
  return {
    stop: () =>
      Promise.all(
        children.map(
          (child) =>
            new Promise<void>((resolve) => {
              child.removeAllListeners('exit');
              child.once('exit', () => {
                resolve();
              });
              child.kill('SIGTERM');
            }),
        ),
      ),
  };
}

/** frames/s of the bare session.run loop on one prepared tensor (batch 1, 640). */
async function bareLoop(modelPath: string, runs: number): Promise<number> {
  const session = await ort.InferenceSession.create(modelPath, {
    intraOpNumThreads: config.BENCH_THREADS,
    interOpNumThreads: 1,
  });
  const inputName = session.inputNames[0] ?? 'images';
  const tensor = new ort.Tensor(
    'float32',
    new Float32Array(3 * 640 * 640).fill(0.5),
    [1, 3, 640, 640],
  );
  await session.run({ [inputName]: tensor }); // warm-up
  const start = performance.now();
  for (let i = 0; i < runs; i++) await session.run({ [inputName]: tensor });
  const fps = runs / ((performance.now() - start) / 1000);
  await session.release();
  return fps;
}

async function realPart(
  db: Kysely<Database>,
  redisUrl: string,
  databaseUrl: string,
  redis: Redis,
): Promise<{ efficiency: number; rows: Record<string, number>[] } | undefined> {
  const fixtures = path.resolve(config.FRAMEWISE_FIXTURES);
  const modelPath = path.join(fixtures, 'models', 'yolov8n-int8.onnx');
  const videoPath = path.join(fixtures, 'videos', 'street-people-1080p.mp4');
  if (!fs.existsSync(modelPath) || !fs.existsSync(videoPath)) {
    progress(
      `real-model part SKIPPED: ${modelPath} or ${videoPath} is missing (set FRAMEWISE_FIXTURES)`,
    );
    return undefined;
  }
  const framesDir = path.join(work, 'frames');
  fs.mkdirSync(framesDir);
  execFileSync('ffmpeg', [
    '-loglevel',
    'error',
    '-i',
    videoPath,
    '-vf',
    'fps=2',
    '-frames:v',
    String(config.BENCH_FRAMES),
    '-q:v',
    '3',
    path.join(framesDir, '%06d.jpg'),
  ]);
  const frames = fs
    .readdirSync(framesDir)
    .sort()
    .map((f) => fs.readFileSync(path.join(framesDir, f)));
  progress(
    `real model: ${frames.length} frames of ${(await sharp(frames[0]).metadata()).width} px`,
  );
  const rows: Record<string, number>[] = [];
  const bare: number[] = [];
  const perWorker: Record<number, number[]> = { 1: [], 2: [] };
  for (let round_ = 0; round_ < 2; round_++) {
    bare.push(await bareLoop(modelPath, Math.max(8, Math.floor(frames.length / 2))));
    progress(`  bare session.run: ${round(bare[bare.length - 1] ?? 0)} frames/s`);
    for (const n of [1, 2]) {
      const prefix = `bench${round_}${n}:`;
      const workers = await startWorkers(n, {
        REDIS_URL: redisUrl,
        DATABASE_URL: databaseUrl,
        REDIS_KEY_PREFIX: prefix,
        STORAGE_BACKEND: 'local',
        STORAGE_LOCAL_ROOT: storageRoot,
        WORKER_MODEL_PATH: modelPath,
        WORKER_THREADS: String(Math.max(1, Math.floor(config.BENCH_THREADS / n))),
        WORKER_BATCH_MAX: '8',
      });
      const jobs = await seedVideo(db, frames, { name: 'yolov8n-int8', version: `${round_}-${n}` });
      const before = await resultCount(db);
      const start = performance.now();
      await new QueueProducer(frameQueue({ keyPrefix: prefix }), redis).enqueue(jobs);
      await waitForResults(db, before + jobs.length);
      const fps = jobs.length / ((performance.now() - start) / 1000);
      perWorker[n]?.push(fps);
      progress(`  ${n} worker process(es): ${round(fps)} frames/s`);
      await workers.stop();
    }
  }
  const bareFps = median(bare);
  for (const n of [1, 2]) {
    const fps = median(perWorker[n] ?? [0]);
    rows.push({
      workers: n,
      frames_per_s: round(fps),
      bare_loop_frames_per_s: round(bareFps),
      ratio: round(fps / bareFps),
    });
  }
  return { efficiency: round(median(perWorker[1] ?? [0]) / bareFps), rows };
}

async function simulation(
  db: Kysely<Database>,
  redis: Redis,
  redisUrl: string,
): Promise<{ rows: Record<string, number>[]; efficiency64: number }> {
  const latency = config.BENCH_SIM_LATENCY_MS;
  const batch = 8;
  progress(`SIMULATION: fixed ${latency} ms per batch of ${batch}, no model runs`);
  const tiny = await sharp({
    create: { width: 64, height: 48, channels: 3, background: '#336699' },
  })
    .jpeg()
    .toBuffer();
  const rows: Record<string, number>[] = [];
  let single = 0;
  for (const workers of [1, 8, 32, 64]) {
    const prefix = `sim${workers}:`;
    const queue = frameQueue({ keyPrefix: prefix });
    const total = workers * batch * config.BENCH_SIM_BATCHES;
    const jobs = await seedVideo(
      db,
      Array.from({ length: total }, () => tiny),
      {
        name: 'simulated',
        version: String(workers),
      },
    );
    await new QueueProducer(queue, redis).enqueue(jobs);
    const clients: Redis[] = [];
    const running: DetectionWorker[] = [];
    const detector = new SimulatedDetector(latency, batch);
    const videos = new VideoRepository(db);
    const results = new ResultRepository(db);
    const metrics = new WorkerMetrics(
      createMetricsRegistry({ service: 'bench', processMetrics: false }),
    );
    for (let i = 0; i < workers; i++) {
      const client = new Redis(redisUrl);
      clients.push(client);
      const consumer = new QueueConsumer(queue, client, { prefetch: batch * 4 });
      running.push(
        new DetectionWorker(
          consumer,
          detector,
          new FrameReader(storage),
          videos,
          results,
          metrics,
          silent,
          {
            batchSize: batch,
            workerId: consumer.id,
            blockTimeoutMs: 200,
          },
        ),
      );
    }
    const before = await resultCount(db);
    const cpuBefore = await redisCpuSeconds(redis);
    const start = performance.now();
    await Promise.all(running.map((w) => w.start()));
    await waitForResults(db, before + total);
    const seconds = (performance.now() - start) / 1000;
    const cpu = (await redisCpuSeconds(redis)) - cpuBefore;
    await Promise.all(running.map((w) => w.close({ deadlineMs: 2000 })));
    clients.forEach((c) => {
      c.disconnect();
    });
    const fps = total / seconds;
    if (workers === 1) single = fps;
    const efficiency = fps / (workers * single);
    rows.push({
      simulated_workers: workers,
      frames: total,
      frames_per_s: round(fps),
      linear_frames_per_s: round(workers * single),
      efficiency: round(efficiency),
      redis_cpu_pct: round((100 * cpu) / seconds, 1),
    });
    progress(
      `  ${workers} simulated workers: ${round(fps)} frames/s (${round(efficiency)} of linear), Redis CPU ${round((100 * cpu) / seconds, 1)} %`,
    );
  }
  return { rows, efficiency64: rows[rows.length - 1]?.efficiency ?? 0 };
}

async function main(): Promise<void> {
  const redisServer = await startRedis({ appendfsync: 'everysec' });
  const pgServer = await startPostgres();
  const admin = new pg.Client({ connectionString: pgServer.databaseUrl('postgres') });
  await admin.connect();
  await admin.query('CREATE DATABASE bench_worker');
  await admin.end();
  const databaseUrl = pgServer.databaseUrl('bench_worker');
  const db = createDatabase({ url: databaseUrl, maxConnections: 16 });
  await migrateToLatest(db);
  const redis = new Redis(redisServer.url);
  try {
    const real = await realPart(db, redisServer.url, databaseUrl, redis);
    if (real) console.table(real.rows);
    const sim = await simulation(db, redis, redisServer.url);
    console.table(sim.rows);
    report({
      efficiency_real: real?.efficiency ?? null,
      real: real?.rows ?? 'skipped: fixtures absent',
      simulation: {
        label: 'SIMULATED detector, fixed latency',
        latency_ms: config.BENCH_SIM_LATENCY_MS,
        rows: sim.rows,
      },
      scale_efficiency_64: sim.efficiency64,
    });
  } finally {
    redis.disconnect();
    await db.destroy();
    await redisServer.stop();
    await pgServer.stop();
    fs.rmSync(work, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  process.stderr.write(
    `${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exit(1);
});
