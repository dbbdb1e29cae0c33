// `npm run bench:worker` — the detection worker end to end, on a private Redis and Postgres.
// Every worker is a real worker PROCESS, run as the container image runs it: the bench first
// compiles it (nx build, cached) and starts `node services/worker/dist/main.js`
// (BENCH_WORKER_RUNTIME=tsx runs services/worker/src/main.ts through tsx instead).
//
// 1. Real model: frames/s of 1 worker process (BENCH_THREADS intra-op threads) and of 2 worker
//    processes (BENCH_THREADS / 2 threads each; otherwise the worker's defaults, e.g. batches
//    of WORKER_BATCH_MAX 8), while every worker is busy (the slope between 20 % and 80 % of a
//    pass's jobs acked, as in part 2: the bare loops run without ramp or tail; each whole
//    pass, enqueue to last ack, is reported beside it), each
//    against the bare `session.run` loop at the SAME thread count: one loop per worker
//    process, each in a process of its own with the worker's session options
//    (bench/bare-loop.ts; `session.run` holds the
//    JavaScript thread, so loops sharing a process would take turns), all started together
//    on one prepared tensor (the hardware limit of that configuration), measured right before
//    and right after the workers (mean of both).
//    Each worker's /metrics (inference, preprocess, DB write) and CPU time show where its
//    time goes; its CPU is also split by thread (the inference threads, to hold against the
//    bare loop's CPU per frame, the JavaScript thread, and the rest: libuv, V8, libvips).
//    Model ../shared/fixtures/models/yolov8n-int8.onnx, frames of
//    ../shared/fixtures/videos/street-people-1080p.mp4 (or FRAMEWISE_FIXTURES) extracted at
//    bench time as the extractor stores them: its filter graph and JPEG encoder, frames at
//    most BENCH_FRAME_MAX_SIZE px (default: the extractor's EXTRACT_FRAME_MAX_SIZE default,
//    640; 0 for the video's 1080p), jobs carrying the video's size; skipped, with a message,
//    when the fixtures are absent.
// 2. Scale SIMULATION: 1, 8, 32, 64 worker processes started with `--simulated-detector-ms`
//    (a fixed-latency detector that uses no CPU, standing in for a GPU batch, and that pulls
//    the next batch while one "runs", as OnnxYoloDetector.detectMany does), so what is
//    measured is the orchestration (claim, frame read, result write, ack).
//    efficiency = frames/s ÷ (N × one worker's frames/s), both taken while every worker is
//    busy (between 20 % and 80 % of the jobs acked: the ramp, while jobs arrive and workers
//    wake, and the tail, where the last batches end unevenly, cost about one batch latency
//    each in a finite run whatever the orchestration does); the same ratio over the whole run,
//    enqueue to drain, is reported beside it. Reported with it, per run: Redis CPU
//    (INFO cpu deltas), Postgres CPU (its processes' /proc times), the workers' CPU (total,
//    of which their JavaScript threads, and per batch), this process's CPU and the whole
//    host's busy time, so a reader can tell which resource is the limit; and, from the
//    1-worker run, the CPU per frame of each part projected to 64 workers at linear speed.
//    Each run starts with unmeasured warm-up batches (BENCH_SIM_WARMUP_BATCHES).
// Completion is watched in Redis (pending + processing lists + delayed empty; a job is acked
// only after its result commits), then the result rows are counted once to check.
// Last stdout line: JSON with `efficiency_real` (frames/s ratio while all workers are busy),
// `efficiency_real_enqueue_to_drain` (the same over whole passes), `efficiency_real_cpu` (CPU
// per frame ratio, independent of other load), `scale_efficiency_64` (while all are busy) and
// `scale_efficiency_64_enqueue_to_drain`.
// Every WORKER_* variable in the bench's environment is passed to the worker processes (for
// A/B runs, e.g. WORKER_HELPER_THREAD_NICE=0); the bench sets the rest.
// Settings: BENCH_FRAMES (real part: jobs per pass, over the clip's frames in turn, default
// 192), BENCH_FRAME_MAX_SIZE (real part, default 640), BENCH_REAL_ROUNDS (real part: measured
// passes per configuration, default 5), BENCH_BARE_SECONDS (each bare-loop measurement,
// default 5), BENCH_THREADS (default all cores), BENCH_REAL_WORKERS (real part: worker
// process counts, each sharing BENCH_THREADS, default 1,2),
// BENCH_SIM_WORKERS (default 1,8,32,64), BENCH_SIM_BATCH (jobs per simulated batch, default
// 32), BENCH_SIM_LATENCY_MS (per simulated batch, default 400), BENCH_SIM_BATCHES (batches per
// simulated worker, default 12; BENCH_SIM_WARMUP_BATCHES more per worker, default 2, run first
// and not measured), BENCH_SKIP_REAL / BENCH_SKIP_SIM (1 to skip a part),
// BENCH_WORKER_RUNTIME (dist, default, or tsx: see above),
// BENCH_WORKER_NODE_OPTIONS (NODE_OPTIONS of the worker processes only, for A/B runs of V8
// flags), BENCH_CPU_PROF (a directory: worker processes write V8 CPU profiles there, and the bench
// each run's steady-state window; `tsx bench/cpuprofile-summary.ts <dir> --window=sim-8`
// sums them), BENCH_WORKER_LOG_DIR (a directory: each worker process's stdout, its log lines
// and whatever V8 prints such as --trace-gc set from a --require preload, goes to
// worker-<pid>.log there instead of being discarded).
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import type { Kysely } from 'kysely';
import pg from 'pg';
import sharp from 'sharp';
import { int, loadConfig, text, z } from '@framewise/config';
import { frameJobEntry, frameKey, frameQueue } from '@framewise/contracts';
import type { Database } from '@framewise/db';
import { FrameRepository, VideoRepository, createDatabase, migrateToLatest } from '@framewise/db';
import { QueueProducer } from '@framewise/queue';
import { LocalVolumeStorage } from '@framewise/storage';
import { startPostgres, startRedis } from '@framewise/testing';
import { DEFAULT_FRAME_MAX_SIZE, DEFAULT_JPEG_QUALITY, frameOutputArgs } from './stored-frames';
import { median, progress, report, round } from './support';

const schema = z.object({
  BENCH_FRAMES: int({ min: 4, default: 192 }),
  BENCH_FRAME_MAX_SIZE: int({ min: 0, default: DEFAULT_FRAME_MAX_SIZE }),
  BENCH_REAL_ROUNDS: int({ min: 1, default: 5 }),
  BENCH_BARE_SECONDS: int({ min: 1, default: 5 }),
  BENCH_THREADS: int({ min: 1, default: os.availableParallelism() }),
  BENCH_REAL_WORKERS: text({ default: '1,2' }),
  BENCH_SIM_WORKERS: text({ default: '1,8,32,64' }),
  BENCH_SIM_BATCH: int({ min: 1, default: 32 }),
  BENCH_SIM_LATENCY_MS: int({ min: 1, default: 400 }),
  BENCH_SIM_BATCHES: int({ min: 1, default: 12 }),
  BENCH_SIM_WARMUP_BATCHES: int({ min: 0, default: 2 }),
  BENCH_SKIP_REAL: int({ min: 0, max: 1, default: 0 }),
  BENCH_SKIP_SIM: int({ min: 0, max: 1, default: 0 }),
  BENCH_CPU_PROF: text().optional(),
  BENCH_WORKER_NODE_OPTIONS: text().optional(),
  BENCH_WORKER_LOG_DIR: text().optional(),
  BENCH_WORKER_RUNTIME: z.enum(['dist', 'tsx']).default('dist'),
  FRAMEWISE_FIXTURES: text({ default: path.join(__dirname, '..', '..', 'shared', 'fixtures') }),
});
// eslint-disable-next-line no-restricted-properties -- this script is an entry point, like main.ts
const env = process.env;
const config = loadConfig(schema, env, { service: 'bench-worker' });
const root = path.resolve(__dirname, '..');
const logDir =
  config.BENCH_WORKER_LOG_DIR === undefined ? undefined : path.resolve(config.BENCH_WORKER_LOG_DIR);
if (logDir !== undefined) fs.mkdirSync(logDir, { recursive: true });
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'framewise-bench-worker-'));
const storageRoot = path.join(work, 'storage');
fs.mkdirSync(storageRoot);
const storage = new LocalVolumeStorage({ root: storageRoot });
const CLOCK_TICKS = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;

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
  for (let i = 0; i < frames.length; i += 256) {
    await Promise.all(
      frames.slice(i, i + 256).map((bytes, j) => storage.put(frameKey(video.id, i + j), bytes)),
    );
  }
  const manifest = frames.map((_, i) => ({
    index: i,
    timeMs: i * 1000,
    storageKey: frameKey(video.id, i),
  }));
  for (let i = 0; i < manifest.length; i += 5000) {
    await new FrameRepository(db).insertManifest(video.id, manifest.slice(i, i + 5000));
  }
  await videos.transition(video.id, 'detecting', { extractedFrames: frames.length });
  const jobs = frames.map((_, i) =>
    frameJobEntry({
      videoId: video.id,
      frameIndex: i,
      storageKey: frameKey(video.id, i),
      model: video.model,
      // The fixture video's size: what the extractor's jobs say, whatever size it stored.
      sourceSize: { width: 1920, height: 1080 },
    }),
  );
  return { videoId: video.id, jobs };
}

async function resultCount(db: Kysely<Database>, videoId: string): Promise<number> {
  const row = await db
    .selectFrom('frame_results')
    .where('video_id', '=', videoId)
    .select((eb) => eb.fn.countAll<string>().as('n'))
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

// Jobs still in the queue: pending + every registered consumer's processing list + delayed.
const OUTSTANDING = `
local n = redis.call('LLEN', KEYS[1]) + redis.call('ZCARD', KEYS[2])
for _, c in ipairs(redis.call('SMEMBERS', KEYS[3])) do
  n = n + redis.call('LLEN', ARGV[1] .. c)
end
return n`;

/** One poll of the queue while it drains: when, and how many jobs were still outstanding. */
interface DrainSample {
  readonly us: number;
  readonly outstanding: number;
}

/**
 * Resolves when the queue holds no job (every job acked, so every result committed), with
 * the outstanding count as polled every 20 ms (for {@link steadyRate}).
 */
async function waitUntilDrained(redis: Redis, prefix: string): Promise<DrainSample[]> {
  const keys = frameQueue({ keyPrefix: prefix }).keys;
  const processingPrefix = keys.processing('x').slice(0, -1);
  const timeline: DrainSample[] = [];
  for (;;) {
    const n = Number(
      await redis.eval(
        OUTSTANDING,
        3,
        keys.pending,
        keys.delayed,
        keys.consumers,
        processingPrefix,
      ),
    );
    timeline.push({ us: monotonicUs(), outstanding: n });
    if (n === 0) return timeline;
    await new Promise((r) => setTimeout(r, 20));
  }
}

/**
 * Frames/s while every worker is busy: the least-squares slope of jobs acked over time, over
 * the polls between the first at which `from` and the first at which `to` of the `total`
 * jobs were acked. A finite run also has a ramp (the jobs arrive while the workers wake, and
 * first claims can be partial) and a tail (the last batches end unevenly: one worker may run
 * one batch more than another), about one batch latency each whatever the orchestration
 * does; the window leaves both out. The slope, not the two end points, because acks come in
 * steps of a batch: end points fall anywhere on a step, a fitted line through every poll
 * does not. Undefined when the polls are too few to tell.
 */
function steadyRate(
  timeline: readonly DrainSample[],
  total: number,
  from = 0.2,
  to = 0.8,
): number | undefined {
  const first = timeline.findIndex((sample) => total - sample.outstanding >= from * total);
  const last = timeline.findIndex((sample) => total - sample.outstanding >= to * total);
  if (first < 0 || last - first < 4) return undefined;
  const window = timeline.slice(first, last + 1);
  const meanT = window.reduce((sum, p) => sum + p.us / 1e6, 0) / window.length;
  const meanDone = window.reduce((sum, p) => sum + (total - p.outstanding), 0) / window.length;
  let covariance = 0;
  let variance = 0;
  for (const p of window) {
    const dt = p.us / 1e6 - meanT;
    covariance += dt * (total - p.outstanding - meanDone);
    variance += dt * dt;
  }
  return variance > 0 ? covariance / variance : undefined;
}

/** CPU seconds (user + system) in a /proc `stat` file, a process's or a thread's (undefined when gone). */
function statCpuSeconds(statPath: string): number | undefined {
  try {
    const stat = fs.readFileSync(statPath, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // fields[0] is field 3 (state): utime is field 14, stime field 15.
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
  } catch {
    return undefined;
  }
}

/** CPU seconds (user + system) of a process, from /proc (0 when it is gone). */
function processCpuSeconds(pid: number): number {
  return statCpuSeconds(`/proc/${pid}/stat`) ?? 0;
}

/**
 * CPU seconds of a process's main (JavaScript) thread alone, from /proc/<pid>/task/<pid>
 * (0 when it is gone). The rest of its CPU is libuv's pool (file reads), V8's helper threads
 * (garbage collection) and the inference thread: Node 20 names none of them.
 */
function mainThreadCpuSeconds(pid: number): number {
  return statCpuSeconds(`/proc/${pid}/task/${pid}/stat`) ?? 0;
}

/** CPU seconds of each thread of a process, by thread id, from /proc (empty when it is gone). */
function threadCpuSeconds(pid: number): Map<number, number> {
  let tids: string[];
  try {
    tids = fs.readdirSync(`/proc/${pid}/task`);
  } catch {
    return new Map();
  }
  const threads = new Map<number, number>();
  for (const tid of tids) {
    // A thread that ended between the listing and the read is left out.
    const seconds = statCpuSeconds(`/proc/${pid}/task/${tid}/stat`);
    if (seconds !== undefined) threads.set(Number(tid), seconds);
  }
  return threads;
}

/**
 * A worker process's CPU between two {@link threadCpuSeconds} readings, split by thread: its
 * JavaScript thread, its `inferenceThreads` busiest other threads (the inference thread and
 * onnxruntime's intra-op pool, which do almost all the work) and the rest (libuv's pool,
 * V8's helpers, libvips). Node 20 names none of them, so the split is by thread id and load.
 */
function splitThreadCpu(
  pid: number,
  before: ReadonlyMap<number, number>,
  after: ReadonlyMap<number, number>,
  inferenceThreads: number,
): { js: number; inference: number; other: number } {
  const deltas = [...after].map(([tid, seconds]) => ({
    tid,
    seconds: seconds - (before.get(tid) ?? 0),
  }));
  const js = deltas.find((d) => d.tid === pid)?.seconds ?? 0;
  const rest = deltas.filter((d) => d.tid !== pid).sort((a, b) => b.seconds - a.seconds);
  const sum = (list: typeof rest) => list.reduce((total, d) => total + d.seconds, 0);
  return {
    js,
    inference: sum(rest.slice(0, inferenceThreads)),
    other: sum(rest.slice(inferenceThreads)),
  };
}

/** Parent pid of a process, from /proc. */
function parentPid(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
}

/** Busy and total CPU seconds of the whole host (all cores), from /proc/stat. */
function hostCpu(): { busy: number; total: number } {
  const line = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '';
  const v = line.trim().split(/\s+/).slice(1).map(Number);
  const total = v.reduce((a, b) => a + b, 0);
  const idle = (v[3] ?? 0) + (v[4] ?? 0);
  return { busy: (total - idle) / CLOCK_TICKS, total: total / CLOCK_TICKS };
}

/** Redis CPU seconds so far (user + sys, all its threads), from INFO cpu. */
async function redisCpuSeconds(redis: Redis): Promise<number> {
  const info = await redis.info('cpu');
  const value = (name: string) => Number(new RegExp(`${name}:([0-9.]+)`).exec(info)?.[1] ?? 0);
  return value('used_cpu_user') + value('used_cpu_sys');
}

/** CPU seconds of the private Postgres: the postmaster and every child it has now. */
function postgresCpuSeconds(postmaster: number): number {
  let total = processCpuSeconds(postmaster);
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (parentPid(Number(entry)) === postmaster) total += processCpuSeconds(Number(entry));
    } catch {
      // the process ended meanwhile
    }
  }
  return total;
}

/** A snapshot of every CPU counter the bench reports; `since` turns two into deltas. */
interface CpuSample {
  at: number;
  redis: number;
  postgres: number;
  workers: number;
  /** The workers' main (JavaScript) threads only. */
  workersMain: number;
  bench: number;
  host: { busy: number; total: number };
}

async function sampleCpu(
  redis: Redis,
  postmaster: number,
  workers: readonly ChildProcess[],
): Promise<CpuSample> {
  const usage = process.cpuUsage();
  return {
    at: performance.now(),
    redis: await redisCpuSeconds(redis),
    postgres: postgresCpuSeconds(postmaster),
    workers: workers.reduce((sum, w) => sum + processCpuSeconds(w.pid ?? -1), 0),
    workersMain: workers.reduce((sum, w) => sum + mainThreadCpuSeconds(w.pid ?? -1), 0),
    bench: (usage.user + usage.system) / 1e6,
    host: hostCpu(),
  };
}

/** CPU used between two samples, each as a fraction of one core. */
function cpuShares(a: CpuSample, b: CpuSample) {
  const seconds = (b.at - a.at) / 1000;
  return {
    seconds,
    redis: (b.redis - a.redis) / seconds,
    postgres: (b.postgres - a.postgres) / seconds,
    workers: (b.workers - a.workers) / seconds,
    workersMain: (b.workersMain - a.workersMain) / seconds,
    bench: (b.bench - a.bench) / seconds,
    // Busy share of the whole host in cores (other people's processes included).
    hostBusyCores: ((b.host.busy - a.host.busy) / (b.host.total - a.host.total)) * os.cpus().length,
  };
}

interface WorkerProcess {
  readonly child: ChildProcess;
  /** The worker's /metrics URL. */
  readonly metricsUrl: string;
}

/** Now on the monotonic clock V8 stamps CPU-profile samples with, in microseconds. */
function monotonicUs(): number {
  return Number(process.hrtime.bigint() / 1000n);
}

/**
 * With BENCH_CPU_PROF: records a steady-state window (enqueue to drained) in the profile
 * directory's windows.json, for `bench/cpuprofile-summary.ts --window=<name>`.
 */
function recordProfileWindow(name: string, fromUs: number, toUs: number): void {
  if (config.BENCH_CPU_PROF === undefined) return;
  const file = path.join(path.resolve(config.BENCH_CPU_PROF), 'windows.json');
  const windows = fs.existsSync(file)
    ? (JSON.parse(fs.readFileSync(file, 'utf8')) as { name: string }[]).filter(
        (w) => w.name !== name,
      )
    : [];
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, JSON.stringify([...windows, { name, fromUs, toUs }], null, 1));
}

/** Starts worker processes and resolves once each has logged "worker ready". */
async function startWorkers(
  n: number,
  vars: Record<string, string>,
  args: readonly string[] = [],
): Promise<{ workers: WorkerProcess[]; stop: () => Promise<void> }> {
  const prof =
    config.BENCH_CPU_PROF === undefined
      ? []
      : ['--cpu-prof', `--cpu-prof-dir=${path.resolve(config.BENCH_CPU_PROF)}`];
  const dist = config.BENCH_WORKER_RUNTIME === 'dist';
  const entry = dist
    ? ['services/worker/dist/main.js']
    : ['--import', 'tsx', 'services/worker/src/main.ts'];
  const children = Array.from({ length: n }, () =>
    spawn(process.execPath, [...prof, ...entry, ...args], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'inherit'],
      env: {
        PATH: env.PATH ?? '',
        // Only tsx reads it; the compiled worker gets no variable it does not use.
        ...(dist ? {} : { TSX_TSCONFIG_PATH: path.join(root, 'services/worker/tsconfig.json') }),
        OPS_PORT: '0',
        OPS_HOST: '127.0.0.1',
        LOG_LEVEL: 'info',
        DATABASE_POOL_MAX: '3',
        ...(config.BENCH_WORKER_NODE_OPTIONS === undefined
          ? {}
          : { NODE_OPTIONS: config.BENCH_WORKER_NODE_OPTIONS }),
        // WORKER_* variables of the bench's environment reach the workers (A/B comparisons).
        ...Object.fromEntries(
          Object.entries(env).filter(
            (entry): entry is [string, string] =>
              entry[0].startsWith('WORKER_') && entry[1] !== undefined,
          ),
        ),
        ...vars,
      },
    }),
  );
  // Starting 64 processes at once on a small machine is slow; one batch of 8 at a time.
  const workers: WorkerProcess[] = [];
  for (let i = 0; i < children.length; i += 8) {
    workers.push(
      ...(await Promise.all(
        children.slice(i, i + 8).map(
          (child) =>
            new Promise<WorkerProcess>((resolve, reject) => {
              let buffered = '';
              const onData = (chunk: Buffer) => {
                buffered += chunk.toString();
                const line = buffered.split('\n').find((l) => l.includes('"worker ready"'));
                if (line === undefined) return;
                const ops = (JSON.parse(line) as { ops?: string }).ops ?? '';
                buffered = '';
                child.stdout.off('data', onData);
                if (logDir === undefined)
                  child.stdout.resume(); // keep draining its output
                else
                  child.stdout.pipe(
                    fs.createWriteStream(path.join(logDir, `worker-${child.pid}.log`)),
                  );
                resolve({ child, metricsUrl: `${ops}/metrics` });
              };
              child.stdout.on('data', onData);
              child.once('exit', (code) => {
                reject(
                  new Error(`worker exited with ${code} before ready: ${buffered.slice(-2000)}`),
                );
              });
            }),
        ),
      )),
    );
  }
  return {
    workers,
    stop: async () => {
      await Promise.all(
        children.map(
          (child) =>
            new Promise<void>((resolve) => {
              if (child.exitCode !== null || child.signalCode !== null) {
                resolve();
                return;
              }
              child.removeAllListeners('exit');
              child.once('exit', () => {
                resolve();
              });
              child.kill('SIGTERM');
            }),
        ),
      );
    },
  };
}

/** Sums of the worker histograms / counters this bench reads, over several workers. */
async function scrapeMetrics(workers: readonly WorkerProcess[]): Promise<Map<string, number>> {
  const sums = new Map<string, number>();
  for (const w of workers) {
    const body = await (await fetch(w.metricsUrl)).text();
    for (const line of body.split('\n')) {
      const m =
        /^(framewise_worker_[a-z_]+(?:_sum|_count|_total))(?:\{[^}]*\})? ([0-9.e+-]+)$/.exec(line);
      if (m?.[1] === undefined) continue;
      sums.set(m[1], (sums.get(m[1]) ?? 0) + Number(m[2]));
    }
  }
  return sums;
}

/**
 * frames/s of `loops` bare session.run loops running at once, each with `threads` threads and
 * each in a process of its own (bench/bare-loop.ts): `session.run` holds the JavaScript thread
 * while it runs, so loops sharing one process would take turns, not run side by side. Every
 * loop is loaded and warmed up first, then all start together. CPU per frame: the loops'
 * processes' CPU (all threads) over their runs.
 */
async function bareLoops(
  modelPath: string,
  loops: number,
  threads: number,
  seconds: number,
): Promise<{ fps: number; cpuMsPerFrame: number }> {
  const children = Array.from({ length: loops }, () =>
    spawn(
      process.execPath,
      ['--import', 'tsx', 'bench/bare-loop.ts', modelPath, String(threads), String(seconds)],
      {
        cwd: root,
        stdio: ['pipe', 'pipe', 'inherit'],
        env: { PATH: env.PATH ?? '', TSX_TSCONFIG_PATH: path.join(root, 'bench/tsconfig.json') },
      },
    ),
  );
  const lines = children.map((child) => {
    const queue: string[] = [];
    const waiting: ((line: string) => void)[] = [];
    let buffered = '';
    child.stdout.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      for (let i = buffered.indexOf('\n'); i >= 0; i = buffered.indexOf('\n')) {
        const line = buffered.slice(0, i);
        buffered = buffered.slice(i + 1);
        const taker = waiting.shift();
        if (taker) taker(line);
        else queue.push(line);
      }
    });
    const exited = new Promise<never>((_, reject) => {
      child.once('exit', (code) => {
        reject(new Error(`bare loop exited with ${code} before answering`));
      });
    });
    exited.catch(() => undefined);
    return (): Promise<string> =>
      Promise.race([
        new Promise<string>((resolve) => {
          const line = queue.shift();
          if (line === undefined) waiting.push(resolve);
          else resolve(line);
        }),
        exited,
      ]);
  });
  try {
    await Promise.all(lines.map((next) => next())); // every loop loaded and warmed up
    for (const child of children) child.stdin.write('go\n');
    const results = await Promise.all(
      lines.map(
        async (next) =>
          JSON.parse(await next()) as { runs: number; seconds: number; cpuMs: number },
      ),
    );
    const runs = results.reduce((a, r) => a + r.runs, 0);
    return {
      fps: results.reduce((a, r) => a + r.runs / r.seconds, 0),
      cpuMsPerFrame: results.reduce((a, r) => a + r.cpuMs, 0) / runs,
    };
  } finally {
    for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
  }
}

interface Env {
  db: Kysely<Database>;
  redis: Redis;
  redisUrl: string;
  databaseUrl: string;
  postmaster: number;
}

async function realPart(e: Env): Promise<
  | {
      efficiency: number;
      drainEfficiency: number;
      cpuEfficiency: number;
      rows: Record<string, number | string>[];
    }
  | undefined
> {
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
  // As the extractor stores them (its filter graph and encoder at its defaults, or frames of
  // BENCH_FRAME_MAX_SIZE), and the jobs say the video's size, as the extractor's do.
  execFileSync('ffmpeg', [
    ...['-loglevel', 'error', '-i', videoPath, '-frames:v', String(config.BENCH_FRAMES)],
    ...frameOutputArgs({ kind: 'fps', fps: 5 }, config.BENCH_FRAME_MAX_SIZE, DEFAULT_JPEG_QUALITY),
    path.join(framesDir, '%06d.jpg'),
  ]);
  const frames = fs
    .readdirSync(framesDir)
    .sort()
    .map((f) => fs.readFileSync(path.join(framesDir, f)));
  const frameMeta = await sharp(frames[0]).metadata();
  progress(
    `real model: ${frames.length} frames of the 1920x1080 video stored at ` +
      `${frameMeta.width}x${frameMeta.height}, ${config.BENCH_THREADS} threads in all`,
  );
  const configs = workerCounts(config.BENCH_REAL_WORKERS, 'BENCH_REAL_WORKERS').map((workers) => ({
    workers,
    threads: Math.max(1, Math.floor(config.BENCH_THREADS / workers)),
  }));
  const measured = new Map<
    number,
    {
      fps: number[];
      drainFps: number[];
      bare: number[];
      cpuRatio: number[];
      detail: Record<string, number>;
    }
  >();
  // One pass = BENCH_FRAMES jobs over the extracted frames in turn (the 10 s clip gives 50).
  const passFrames = Array.from(
    { length: config.BENCH_FRAMES },
    (_, i) => frames[i % frames.length],
  ).flatMap((f) => (f === undefined ? [] : [f]));
  for (const { workers: n, threads } of configs) {
    const prefix = `bench-real-${n}:`;
    const started = await startWorkers(n, {
      REDIS_URL: e.redisUrl,
      DATABASE_URL: e.databaseUrl,
      REDIS_KEY_PREFIX: prefix,
      STORAGE_BACKEND: 'local',
      STORAGE_LOCAL_ROOT: storageRoot,
      WORKER_MODEL_PATH: modelPath,
      WORKER_THREADS: String(threads),
    });
    const children = started.workers.map((w) => w.child);
    const producer = new QueueProducer(frameQueue({ keyPrefix: prefix }), e.redis);
    try {
      // Warm-up pass, not measured: the workers' first batches compile their hot paths.
      const warmup = await seedVideo(e.db, passFrames, { name: 'real', version: `${n}-warmup` });
      await producer.enqueue(warmup.jobs);
      await waitUntilDrained(e.redis, prefix);
      // Bare loops and worker passes alternate (the workers wait, idle, while the loops run),
      // so each pass is compared with the loops measured right before and right after it:
      // this host's speed drifts by tens of percent within a minute.
      let bareBefore = await bareLoops(modelPath, n, threads, config.BENCH_BARE_SECONDS);
      for (let round_ = 0; round_ < config.BENCH_REAL_ROUNDS; round_++) {
        const { videoId, jobs } = await seedVideo(e.db, passFrames, {
          name: 'real',
          version: `${n}-${round_}`,
        });
        const metricsBefore = await scrapeMetrics(started.workers);
        const threadsBefore = children.map((c) => threadCpuSeconds(c.pid ?? -1));
        const cpuBefore = await sampleCpu(e.redis, e.postmaster, children);
        const fromUs = monotonicUs();
        await producer.enqueue(jobs);
        const timeline = await waitUntilDrained(e.redis, prefix);
        recordProfileWindow(`real-${n}-round${round_ + 1}`, fromUs, monotonicUs());
        const cpuAfter = await sampleCpu(e.redis, e.postmaster, children);
        const threadSplit = children
          .map((c, i) =>
            splitThreadCpu(
              c.pid ?? -1,
              threadsBefore[i] ?? new Map(),
              threadCpuSeconds(c.pid ?? -1),
              threads,
            ),
          )
          .reduce((a, b) => ({
            js: a.js + b.js,
            inference: a.inference + b.inference,
            other: a.other + b.other,
          }));
        const threadMs = (seconds: number) => round((1000 * seconds) / jobs.length, 1);
        const metricsAfter = await scrapeMetrics(started.workers);
        const rows = await resultCount(e.db, videoId);
        if (rows !== jobs.length) throw new Error(`expected ${jobs.length} results, found ${rows}`);
        const bareAfter = await bareLoops(modelPath, n, threads, config.BENCH_BARE_SECONDS);
        const bareCpuMs = (bareBefore.cpuMsPerFrame + bareAfter.cpuMsPerFrame) / 2;
        const shares = cpuShares(cpuBefore, cpuAfter);
        // While every worker is busy, as the bare loops are (see steadyRate); the whole pass,
        // with its first decode and its uneven last batches, beside it.
        const drainFps = jobs.length / shares.seconds;
        const steady = steadyRate(timeline, jobs.length);
        if (steady === undefined) {
          progress('  (too few polls for a steady rate: this round uses the whole pass)');
        }
        const fps = steady ?? drainFps;
        const bare = (bareBefore.fps + bareAfter.fps) / 2;
        const delta = (name: string) =>
          (metricsAfter.get(name) ?? 0) - (metricsBefore.get(name) ?? 0);
        const perFrameMs = (name: string) => round((1000 * delta(name)) / jobs.length, 1);
        const workerCpuMs = (1000 * (cpuAfter.workers - cpuBefore.workers)) / jobs.length;
        const entry = measured.get(n) ?? {
          fps: [],
          drainFps: [],
          bare: [],
          cpuRatio: [],
          detail: {},
        };
        entry.fps.push(fps);
        entry.drainFps.push(drainFps);
        entry.bare.push(bare);
        entry.cpuRatio.push(bareCpuMs / workerCpuMs);
        // Where a frame's time goes, summed over the workers (the last round's figures).
        entry.detail = {
          inference_ms_per_frame: perFrameMs('framewise_worker_inference_seconds_sum'),
          preprocess_ms_per_frame: perFrameMs('framewise_worker_preprocess_seconds_sum'),
          db_write_ms_per_frame: perFrameMs('framewise_worker_db_write_seconds_sum'),
          worker_cpu_ms_per_frame: round(workerCpuMs, 1),
          // Of which (by thread): inference (the inference thread and onnxruntime's pool,
          // to hold against bare_cpu_ms_per_frame), JavaScript, and the rest.
          worker_inference_threads_cpu_ms_per_frame: threadMs(threadSplit.inference),
          worker_js_thread_cpu_ms_per_frame: threadMs(threadSplit.js),
          worker_other_threads_cpu_ms_per_frame: threadMs(threadSplit.other),
          bare_cpu_ms_per_frame: round(bareCpuMs, 1),
          wall_ms_per_frame_per_worker: round((1000 * shares.seconds * n) / jobs.length, 1),
          host_busy_cores: round(shares.hostBusyCores, 2),
        };
        measured.set(n, entry);
        progress(
          `  round ${round_ + 1}: ${n} worker process(es) × ${threads} thread(s): ` +
            `${round(fps)} frames/s; bare loops at the same threads: ${round(bare)} frames/s ` +
            `(before ${round(bareBefore.fps)}, after ${round(bareAfter.fps)}); ratio ` +
            `${round(fps / bare)} (enqueue to drain ${round(drainFps / bare)}); CPU per frame: worker ${round(workerCpuMs, 1)} ms, bare ` +
            `${round(bareCpuMs, 1)} ms (worker by thread: inference ` +
            `${threadMs(threadSplit.inference)}, JavaScript ${threadMs(threadSplit.js)}, ` +
            `other ${threadMs(threadSplit.other)}); host busy ${round(shares.hostBusyCores, 2)} cores`,
        );
        bareBefore = bareAfter;
      }
    } finally {
      await started.stop();
    }
  }
  const rows = configs.map(({ workers, threads }) => {
    const m = measured.get(workers) ?? {
      fps: [0],
      drainFps: [0],
      bare: [1],
      cpuRatio: [0],
      detail: {},
    };
    const ratios = m.fps.map((f, i) => f / (m.bare[i] ?? 1));
    const drainRatios = m.drainFps.map((f, i) => f / (m.bare[i] ?? 1));
    return {
      workers,
      threads_each: threads,
      frames_per_s: round(median(m.fps)),
      bare_loop_frames_per_s: round(median(m.bare)),
      ratio: round(median(ratios)),
      ratio_enqueue_to_drain: round(median(drainRatios)),
      // Load-independent: the bare loop's CPU per frame ÷ the worker's (all its threads).
      cpu_ratio: round(median(m.cpuRatio)),
      ...m.detail,
    };
  });
  // efficiency_real: the worst of the configurations' median ratios.
  return {
    efficiency: Math.min(...rows.map((r) => r.ratio)),
    drainEfficiency: Math.min(...rows.map((r) => r.ratio_enqueue_to_drain)),
    cpuEfficiency: Math.min(...rows.map((r) => r.cpu_ratio)),
    rows,
  };
}

/** A comma-separated list of worker counts (a BENCH_* setting), each a positive integer. */
function workerCounts(value: string, name: string): number[] {
  const counts = value.split(',').map((part) => Number(part.trim()));
  // An empty setting splits to [''], which is 0: refused like any count below 1.
  if (counts.some((n) => !Number.isInteger(n) || n < 1)) {
    throw new Error(`${name}=${value}: expected worker counts such as 1,2 (positive integers)`);
  }
  return counts;
}

async function simulation(e: Env) {
  const latency = config.BENCH_SIM_LATENCY_MS;
  const batch = config.BENCH_SIM_BATCH;
  const counts = workerCounts(config.BENCH_SIM_WORKERS, 'BENCH_SIM_WORKERS');
  progress(
    `SIMULATION: worker processes with a fixed ${latency} ms per batch of ${batch} ` +
      `(--simulated-detector-ms), no model runs`,
  );
  const tiny = await sharp({
    create: { width: 64, height: 48, channels: 3, background: '#336699' },
  })
    .jpeg()
    .toBuffer();
  const rows: Record<string, number>[] = [];
  let single: { fps: number; drainFps: number; perFrame: Record<string, number> } | undefined;
  let largest: Record<string, number> = {};
  for (const workers of counts) {
    const prefix = `sim${workers}:`;
    const total = workers * batch * config.BENCH_SIM_BATCHES;
    const started = await startWorkers(
      workers,
      {
        REDIS_URL: e.redisUrl,
        DATABASE_URL: e.databaseUrl,
        REDIS_KEY_PREFIX: prefix,
        STORAGE_BACKEND: 'local',
        STORAGE_LOCAL_ROOT: storageRoot,
        WORKER_MODEL_PATH: '/simulated',
        WORKER_BATCH_MAX: String(batch),
        LOG_LEVEL: 'info',
      },
      [`--simulated-detector-ms=${latency}`],
    );
    // Warm-up, not measured: each worker's first batches pay V8's compilation of the hot
    // paths (on helper threads, counted in its CPU) and fill its connection pool.
    const producer = new QueueProducer(frameQueue({ keyPrefix: prefix }), e.redis);
    if (config.BENCH_SIM_WARMUP_BATCHES > 0) {
      const warmup = await seedVideo(
        e.db,
        Array.from({ length: workers * batch * config.BENCH_SIM_WARMUP_BATCHES }, () => tiny),
        { name: 'simulated', version: `${workers}-warmup` },
      );
      await producer.enqueue(warmup.jobs);
      await waitUntilDrained(e.redis, prefix);
    }
    const { videoId, jobs } = await seedVideo(
      e.db,
      Array.from({ length: total }, () => tiny),
      { name: 'simulated', version: String(workers) },
    );
    const children = started.workers.map((w) => w.child);
    const metricsBefore = await scrapeMetrics(started.workers);
    const before = await sampleCpu(e.redis, e.postmaster, children);
    progress(`  ${workers} simulated worker processes started and warmed up; measuring`);
    const fromUs = monotonicUs();
    await producer.enqueue(jobs);
    const timeline = await waitUntilDrained(e.redis, prefix);
    recordProfileWindow(`sim-${workers}`, fromUs, monotonicUs());
    const after = await sampleCpu(e.redis, e.postmaster, children);
    const metricsAfter = await scrapeMetrics(started.workers);
    await started.stop();
    const written = await resultCount(e.db, videoId);
    if (written !== total) throw new Error(`expected ${total} results, found ${written}`);
    const s = cpuShares(before, after);
    const drainFps = total / s.seconds;
    const fps = steadyRate(timeline, total);
    if (fps === undefined) throw new Error(`sim ${workers}: too few polls for a steady rate`);
    const batches =
      (metricsAfter.get('framewise_worker_batch_size_count') ?? 0) -
      (metricsBefore.get('framewise_worker_batch_size_count') ?? 0);
    const perFrameUs = (share: number) => round((1e6 * share * s.seconds) / total, 1);
    const perFrame: Record<string, number> = {
      redis_cpu_us_per_frame: perFrameUs(s.redis),
      postgres_cpu_us_per_frame: perFrameUs(s.postgres),
      workers_cpu_us_per_frame: perFrameUs(s.workers),
      // Of which the JavaScript thread; the rest is libuv's pool, GC and other threads.
      workers_js_thread_us_per_frame: perFrameUs(s.workersMain),
      bench_cpu_us_per_frame: perFrameUs(s.bench),
    };
    single ??= { fps: fps / workers, drainFps: drainFps / workers, perFrame };
    largest = perFrame;
    const linear = workers * single.fps;
    const drainEfficiency = drainFps / (workers * single.drainFps);
    rows.push({
      simulated_workers: workers,
      frames: total,
      seconds: round(s.seconds, 2),
      // While every worker is busy (20 % to 80 % of the jobs acked: steadyRate).
      frames_per_s: round(fps),
      linear_frames_per_s: round(linear),
      efficiency: round(fps / linear),
      // From enqueue to the last ack, ramp and tail included (the same ratio, whole run).
      frames_per_s_enqueue_to_drain: round(drainFps),
      efficiency_enqueue_to_drain: round(drainEfficiency),
      // CPU in % of ONE core (a 2-core host has 200 %).
      redis_cpu_pct: round(100 * s.redis, 1),
      postgres_cpu_pct: round(100 * s.postgres, 1),
      workers_cpu_pct: round(100 * s.workers, 1),
      bench_cpu_pct: round(100 * s.bench, 1),
      host_busy_pct: round(100 * s.hostBusyCores, 1),
      worker_cpu_ms_per_batch: round((1000 * s.workers * s.seconds) / Math.max(1, batches), 2),
      mean_batch: round(total / Math.max(1, batches), 1),
      ...perFrame,
    });
    progress(
      `  ${workers} simulated worker processes: ${round(fps)} frames/s ` +
        `(${round(fps / linear)} of linear while all busy; ` +
        `${round(drainEfficiency)} enqueue to drain); CPU % of one core: Redis ${round(100 * s.redis, 1)}, ` +
        `Postgres ${round(100 * s.postgres, 1)}, workers ${round(100 * s.workers, 1)}, ` +
        `bench ${round(100 * s.bench, 1)}, host busy ${round(100 * s.hostBusyCores, 1)} ` +
        `of ${100 * os.cpus().length}`,
    );
  }
  // What 64 workers at linear speed (the 1-worker rate × 64) would need, at the CPU per frame
  // of the largest run (the one least inflated by fixed costs such as this bench's polling).
  const projected = single
    ? (() => {
        const rate = 64 * single.fps;
        const cores = (us: number) => round((rate * us) / 1e6, 2);
        return {
          frames_per_s_at_64_linear: round(rate),
          redis_cores: cores(largest.redis_cpu_us_per_frame ?? 0),
          postgres_cores: cores(largest.postgres_cpu_us_per_frame ?? 0),
          workers_cores: cores(largest.workers_cpu_us_per_frame ?? 0),
          host_cores_available: os.cpus().length,
        };
      })()
    : undefined;
  const last = rows[rows.length - 1];
  return {
    rows,
    projected,
    efficiency64: last?.simulated_workers === 64 ? (last.efficiency ?? 0) : null,
    efficiency64Drain:
      last?.simulated_workers === 64 ? (last.efficiency_enqueue_to_drain ?? 0) : null,
  };
}

/**
 * Compiles the worker and the libraries it uses (nx, cached when nothing changed), so the
 * bench runs the JavaScript the container image runs. Under tsx a worker also carries the
 * TypeScript loader: a loader thread and a larger heap for V8 to collect.
 */
function buildWorker(): void {
  if (config.BENCH_WORKER_RUNTIME !== 'dist') return;
  progress('building the worker (npx nx run @framewise/worker:build)');
  execFileSync('npx', ['nx', 'run', '@framewise/worker:build', '--outputStyle=static'], {
    cwd: root,
    stdio: ['ignore', 'ignore', 'inherit'],
    env: { ...env, NX_DAEMON: 'false', NX_NO_CLOUD: 'true', NX_TUI: 'false' },
  });
}

async function main(): Promise<void> {
  buildWorker();
  const redisServer = await startRedis({ appendfsync: 'everysec' });
  const pgServer = await startPostgres();
  const admin = new pg.Client({ connectionString: pgServer.databaseUrl('postgres') });
  await admin.connect();
  await admin.query('CREATE DATABASE bench_worker');
  await admin.end();
  const databaseUrl = pgServer.databaseUrl('bench_worker');
  const db = createDatabase({ url: databaseUrl, maxConnections: 4 });
  await migrateToLatest(db);
  const probe = new pg.Client({ connectionString: databaseUrl });
  await probe.connect();
  const backend = (await probe.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0];
  const postmaster = parentPid(backend?.pid ?? -1);
  await probe.end();
  const redis = new Redis(redisServer.url);
  const e: Env = { db, redis, redisUrl: redisServer.url, databaseUrl, postmaster };
  try {
    const real = config.BENCH_SKIP_REAL === 1 ? undefined : await realPart(e);
    if (real) console.table(real.rows);
    const sim = config.BENCH_SKIP_SIM === 1 ? undefined : await simulation(e);
    if (sim) {
      console.table(sim.rows);
      if (sim.projected) console.table([sim.projected]);
    }
    report({
      efficiency_real: real?.efficiency ?? null,
      // The same over each whole pass, from the enqueue to the last ack.
      efficiency_real_enqueue_to_drain: real?.drainEfficiency ?? null,
      // The same comparison in CPU per frame: what a dedicated machine would show.
      efficiency_real_cpu: real?.cpuEfficiency ?? null,
      real: real?.rows ?? 'skipped',
      simulation: sim
        ? {
            label: 'SIMULATED detector (worker processes, fixed latency per batch, no model)',
            latency_ms: config.BENCH_SIM_LATENCY_MS,
            batch: config.BENCH_SIM_BATCH,
            rows: sim.rows,
            projected_64: sim.projected,
          }
        : 'skipped',
      scale_efficiency_64: sim?.efficiency64 ?? null,
      // The same at 64 workers over the whole run, ramp and tail included.
      scale_efficiency_64_enqueue_to_drain: sim?.efficiency64Drain ?? null,
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
