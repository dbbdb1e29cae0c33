// `npm run bench:queue`: @framewise/queue against BullMQ on the same private Redis, same run.
//
// A trial pushes N small jobs (~100 bytes of JSON, each with a job id) through
// enqueue → claim → ack with one consumer process whose handler does nothing, and measures
// from the first enqueue to the last confirmed ack (the consumer is started and idle before
// the clock starts; producing and consuming overlap, as in the pipeline).
//
// "Concurrency c" means, for both: at most c handlers in flight in one consumer process.
//   - ours:   one QueueWorker, concurrency c, prefetch max(64, 2c): jobs are claimed in
//             batches by one Lua call and acked in batches (ack-and-claim in one round trip);
//   - BullMQ: one Worker with `concurrency: c` (its default fetching: one job per
//             moveToActive / moveToFinished call), jobs added with addBulk, removeOnComplete.
// Producers enqueue in chunks of 1,000 for both (our pipelined enqueue; BullMQ's addBulk).
// Points: appendfsync everysec at c = 1, 16, 64, and appendfsync always at c = 1. Each point
// runs 3 times per queue, interleaved (the order alternates per run); medians are reported.
// Redis commands per job come from INFO commandstats deltas over the timed window (commands
// run inside Lua scripts are counted too, for both); INFO itself is excluded.
//
// Options: --jobs N (default 20000), --runs N (default 3).
import { startRedis, type AppendFsync, type RedisServer } from '@framewise/testing';
import {
  QueueConsumer,
  QueueProducer,
  QueueWorker,
  defineQueue,
  type QueueDefinition,
} from '@framewise/queue';
import { Queue as BullQueue, Worker as BullWorker } from 'bullmq';
import { Redis } from 'ioredis';
import os from 'node:os';
import { z } from 'zod';
import { median, progress, report, round } from './support';

const FrameJob = z.object({
  videoId: z.string(),
  frame: z.number().int(),
  path: z.string(),
  model: z.string(),
});
type FrameJob = z.infer<typeof FrameJob>;

interface Trial {
  readonly jobsPerSecond: number;
  readonly commandsPerJob: number;
}

interface Point {
  readonly fsync: AppendFsync;
  readonly concurrency: number;
}

const POINTS: readonly Point[] = [
  { fsync: 'everysec', concurrency: 1 },
  { fsync: 'everysec', concurrency: 16 },
  { fsync: 'everysec', concurrency: 64 },
  { fsync: 'always', concurrency: 1 },
];
const CHUNK = 1000;

function option(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const value = i >= 0 ? Number(process.argv[i + 1]) : fallback;
  if (!Number.isInteger(value) || value <= 0) throw new Error(`--${name} needs a positive integer`);
  return value;
}

function frame(i: number): FrameJob {
  const videoId = `video-${String(Math.floor(i / 1000)).padStart(6, '0')}`;
  return {
    videoId,
    frame: i,
    path: `frames/${videoId}/${String(i).padStart(6, '0')}.jpg`,
    model: 'yolo11n',
  };
}

/** Total calls of every command so far, except INFO (our own measuring). */
async function commandCalls(redis: Redis): Promise<number> {
  const info = await redis.info('commandstats');
  let total = 0;
  for (const match of info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) {
    if (match[1] !== 'info') total += Number(match[2]);
  }
  return total;
}

/**
 * Times one trial: `enqueueChunk(from, to)` is called for jobs [from, to) in chunks of CHUNK,
 * then the clock runs until `allAcked` resolves.
 */
async function timed(
  admin: Redis,
  jobs: number,
  enqueueChunk: (from: number, to: number) => Promise<unknown>,
  allAcked: Promise<void>,
): Promise<Trial> {
  const before = await commandCalls(admin);
  const started = performance.now();
  for (let from = 0; from < jobs; from += CHUNK)
    await enqueueChunk(from, Math.min(jobs, from + CHUNK));
  await allAcked;
  const seconds = (performance.now() - started) / 1000;
  const after = await commandCalls(admin);
  return { jobsPerSecond: jobs / seconds, commandsPerJob: (after - before) / jobs };
}

/** Job numbers from, from+1, …, to-1. */
function range(from: number, to: number): number[] {
  return Array.from({ length: to - from }, (_, i) => from + i);
}

/** Counts progress events; `done` resolves once `target` is reached. */
function counter(target: number): { add(n: number): void; done: Promise<void> } {
  let seen = 0;
  let resolve: () => void = () => undefined;
  const done = new Promise<void>((r) => (resolve = r));
  return {
    add(n) {
      seen += n;
      if (seen >= target) resolve();
    },
    done,
  };
}

async function oursTrial(
  server: RedisServer,
  point: Point,
  jobs: number,
  tag: string,
): Promise<Trial> {
  const redis = new Redis(server.url);
  const admin = new Redis(server.url);
  const queue: QueueDefinition<FrameJob> = defineQueue({
    name: `bench-${tag}`,
    schema: FrameJob,
  });
  const acked = counter(jobs);
  const consumer = new QueueConsumer(queue, redis, {
    prefetch: Math.max(64, 2 * point.concurrency),
    onEvent: (event) => {
      if (event.type === 'acked') acked.add(event.count);
    },
  });
  const worker = new QueueWorker(consumer, () => undefined, {
    concurrency: point.concurrency,
  });
  const producer = new QueueProducer(queue, redis);
  try {
    await worker.start();
    return await timed(
      admin,
      jobs,
      (from, to) => producer.enqueue(range(from, to).map((j) => ({ id: `f${j}`, data: frame(j) }))),
      acked.done,
    );
  } finally {
    await worker.close({ deadlineMs: 1000 });
    await redis.quit();
    await admin.flushall();
    await admin.quit();
  }
}

async function bullTrial(
  server: RedisServer,
  point: Point,
  jobs: number,
  tag: string,
): Promise<Trial> {
  const url = new URL(server.url);
  const connection = { host: url.hostname, port: Number(url.port), maxRetriesPerRequest: null };
  const admin = new Redis(server.url);
  const name = `bench-${tag}`;
  const queue = new BullQueue<FrameJob>(name, {
    connection,
    defaultJobOptions: { removeOnComplete: true, removeOnFail: true },
  });
  const completed = counter(jobs);
  const worker = new BullWorker<FrameJob>(name, () => Promise.resolve(), {
    connection,
    concurrency: point.concurrency,
  });
  worker.on('completed', () => {
    completed.add(1);
  });
  try {
    await queue.waitUntilReady();
    await worker.waitUntilReady();
    return await timed(
      admin,
      jobs,
      (from, to) =>
        queue.addBulk(
          range(from, to).map((j) => ({ name: 'frame', data: frame(j), opts: { jobId: `f${j}` } })),
        ),
      completed.done,
    );
  } finally {
    await worker.close();
    await queue.close();
    await admin.flushall();
    await admin.quit();
  }
}

interface PointResult {
  readonly point: string;
  readonly appendfsync: AppendFsync;
  readonly concurrency: number;
  readonly ours: { jobs_per_s: number; commands_per_job: number; runs_jobs_per_s: number[] };
  readonly bullmq: { jobs_per_s: number; commands_per_job: number; runs_jobs_per_s: number[] };
  readonly ratio: number;
}

function summary(trials: readonly Trial[]) {
  return {
    jobs_per_s: round(median(trials.map((t) => t.jobsPerSecond)), 0),
    commands_per_job: round(median(trials.map((t) => t.commandsPerJob)), 2),
    runs_jobs_per_s: trials.map((t) => round(t.jobsPerSecond, 0)),
  };
}

async function main(): Promise<void> {
  const jobs = option('jobs', 20_000);
  const runs = option('runs', 3);
  const servers = new Map<AppendFsync, RedisServer>();
  const results: PointResult[] = [];
  let redisVersion = 'unknown';
  try {
    for (const fsync of new Set(POINTS.map((p) => p.fsync))) {
      servers.set(fsync, await startRedis({ appendfsync: fsync }));
    }
    const probe = new Redis([...servers.values()][0]?.url ?? '');
    redisVersion = /redis_version:(\S+)/.exec(await probe.info('server'))?.[1] ?? 'unknown';
    await probe.quit();

    for (const point of POINTS) {
      const server = servers.get(point.fsync);
      if (!server) throw new Error('no server');
      const label = `appendfsync ${point.fsync}, concurrency ${point.concurrency}`;
      const ours: Trial[] = [];
      const bull: Trial[] = [];
      for (let run = 0; run < runs; run++) {
        const tag = `${point.fsync}-${point.concurrency}-${run}`;
        // Alternate who goes first, so neither always runs on a warmer (or busier) machine.
        const order = run % 2 === 0 ? (['ours', 'bullmq'] as const) : (['bullmq', 'ours'] as const);
        for (const who of order) {
          const trial =
            who === 'ours'
              ? await oursTrial(server, point, jobs, tag)
              : await bullTrial(server, point, jobs, tag);
          (who === 'ours' ? ours : bull).push(trial);
          progress(
            `${label} run ${run + 1}/${runs} ${who.padEnd(6)}: ${round(trial.jobsPerSecond, 0)} jobs/s, ${round(trial.commandsPerJob, 2)} commands/job`,
          );
        }
      }
      const o = summary(ours);
      const b = summary(bull);
      results.push({
        point: label,
        appendfsync: point.fsync,
        concurrency: point.concurrency,
        ours: o,
        bullmq: b,
        ratio: round(o.jobs_per_s / b.jobs_per_s, 2),
      });
    }
  } finally {
    for (const server of servers.values()) await server.stop();
  }

  progress(
    '\npoint                                  | ours jobs/s | cmds/job | BullMQ jobs/s | cmds/job | ratio',
  );
  for (const r of results) {
    progress(
      `${r.point.padEnd(38)} | ${String(r.ours.jobs_per_s).padStart(11)} | ${String(r.ours.commands_per_job).padStart(8)} | ${String(r.bullmq.jobs_per_s).padStart(13)} | ${String(r.bullmq.commands_per_job).padStart(8)} | ${r.ratio}`,
    );
  }
  const bestOurs = Math.max(...results.map((r) => r.ours.jobs_per_s));
  const bestBull = Math.max(...results.map((r) => r.bullmq.jobs_per_s));
  report({
    bench: 'queue',
    jobs,
    runs,
    node: process.version,
    redis: redisVersion,
    bullmq: bullVersion(),
    cpus: os.availableParallelism(),
    concurrency_means:
      'handlers in flight in one consumer process: ours = one QueueWorker (batched Lua claims, prefetch max(64, 2c), batched acks); BullMQ = one Worker with that concurrency',
    points: results,
    best_ratio_vs_bullmq: round(bestOurs / bestBull, 2),
    min_ratio_vs_bullmq: Math.min(...results.map((r) => r.ratio)),
  });
}

function bullVersion(): string {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return (require('bullmq/package.json') as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

main().catch((error: unknown) => {
  process.stderr.write(
    `${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exit(1);
});
