/**
 * The worker and the reaper as real processes against real Redis, Postgres, storage and
 * onnxruntime (the red-square model), through the failures they must survive. Each test ends
 * with every manifest frame having exactly one result or one recorded failure, and the video
 * finalized.
 */
import { Redis } from 'ioredis';
import type { Kysely } from 'kysely';
import type { Database } from '@framewise/db';
import { VideoRepository } from '@framewise/db';
import { writeRedSquareModel } from '@framewise/detector';
import { QueueAdmin } from '@framewise/queue';
import { LocalVolumeStorage } from '@framewise/storage';
import type { PostgresServer, RedisServer } from '@framewise/testing';
import { sharedInfra, startPostgres, startRedis, uniqueKeyPrefix } from '@framewise/testing';
import type { ServiceProcess } from './testing/processes.spec-helper';
import { startService } from './testing/processes.spec-helper';
import {
  exactlyOnce,
  frameOutcomes,
  migratedDatabase,
  seedVideo,
  testQueue,
  waitFor,
  workspace,
} from './testing/pipeline.spec-helper';

jest.setTimeout(120_000);

let space: Awaited<ReturnType<typeof workspace>>;
let storage: LocalVolumeStorage;
const running: ServiceProcess[] = [];

beforeAll(async () => {
  space = await workspace();
  storage = new LocalVolumeStorage({ root: space.storageRoot });
});

afterEach(async () => {
  await Promise.all(running.splice(0).map((p) => p.kill()));
});

afterAll(async () => {
  await space.remove();
});

function env(redisUrl: string, databaseUrl: string, prefix: string): Record<string, string> {
  return {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? '',
    REDIS_URL: redisUrl,
    DATABASE_URL: databaseUrl,
    REDIS_KEY_PREFIX: prefix,
    STORAGE_BACKEND: 'local',
    STORAGE_LOCAL_ROOT: space.storageRoot,
    WORKER_MODEL_PATH: space.modelPath,
    WORKER_BATCH_MAX: '4',
    WORKER_THREADS: '1',
    WORKER_HEARTBEAT_TTL: '1s',
    WORKER_SHUTDOWN_DEADLINE: '5s',
    REAPER_RECLAIM_INTERVAL: '200ms',
    REAPER_FINALIZE_INTERVAL: '200ms',
    REAPER_RECONCILE_INTERVAL: '500ms',
    REAPER_RECONCILE_GRACE: '1s',
  };
}

function start(service: 'worker' | 'reaper', vars: Record<string, string>): ServiceProcess {
  const p = startService(service, vars);
  running.push(p);
  return p;
}

/** Waits until the video is finalized with every frame settled exactly once. */
async function expectFinished(
  db: Kysely<Database>,
  videoId: string,
  logs: () => string,
): Promise<void> {
  try {
    await waitFor(
      'the video to be finalized',
      async () => (await new VideoRepository(db).get(videoId)).status.startsWith('completed'),
      90_000,
    );
  } catch (error) {
    throw new Error(`${(error as Error).message}\n${logs()}`);
  }
  expect(exactlyOnce(await frameOutcomes(db, videoId))).toBe(true);
}

/** What a scenario gets: its database, Redis client and key prefix, the service environment and a seeded 150-frame video. */
interface Scenario {
  readonly db: Kysely<Database>;
  readonly redis: Redis;
  readonly prefix: string;
  readonly vars: Record<string, string>;
  readonly videoId: string;
}

/** Runs `body` on a fresh database (on `serverUrl`, else the shared server) and key prefix. */
async function scenario(
  redisUrl: string,
  body: (s: Scenario) => Promise<void>,
  serverUrl?: string,
): Promise<void> {
  const { db, url, close } = await migratedDatabase(serverUrl);
  const redis = new Redis(redisUrl);
  const prefix = uniqueKeyPrefix();
  try {
    const queue = testQueue(prefix);
    const video = await seedVideo({ db, storage, queue, redis, frames: 150 });
    await body({ db, redis, prefix, vars: env(redisUrl, url, prefix), videoId: video.videoId });
  } finally {
    redis.disconnect();
    await close();
  }
}

/**
 * After a worker gave up: nothing lost and nothing blamed on the frames (no claim left behind,
 * no dead letter, no result or failure recorded; all 150 jobs wait in the queue). Then a
 * healthy worker and a reaper finish the video. Resolves with the queue depths it saw.
 */
async function expectHandedBackThenFinished({ db, redis, prefix, vars, videoId }: Scenario) {
  const depths = await new QueueAdmin(testQueue(prefix), redis).depths();
  expect(depths).toMatchObject({ processing: 0, dead: 0 });
  expect(depths.pending + depths.delayed).toBe(150);
  const before = await frameOutcomes(db, videoId);
  expect(before.every((o) => o.results === 0 && o.failures === 0)).toBe(true);

  const healthy = start('worker', vars);
  start('reaper', vars);
  await expectFinished(db, videoId, () => healthy.output.join(''));
  expect((await new VideoRepository(db).get(videoId)).status).toBe('completed');
  return depths;
}

async function someResults(db: Kysely<Database>, videoId: string, n: number): Promise<void> {
  await waitFor(
    `${n} results`,
    async () => (await frameOutcomes(db, videoId)).filter((o) => o.results > 0).length >= n,
    60_000,
  );
}

it('loses nothing when a worker is SIGKILLed mid-batch: the reaper brings its jobs back', async () => {
  await scenario(sharedInfra().redisUrl, async ({ db, vars, videoId }) => {
    const first = start('worker', vars);
    await someResults(db, videoId, 8);
    await first.kill();
    // Its processing list still holds claimed jobs (the kill came mid-batch).
    start('reaper', vars);
    const second = start('worker', vars);
    await expectFinished(db, videoId, () => second.output.join(''));
    expect((await new VideoRepository(db).get(videoId)).status).toBe('completed');
  });
});

it('names its Redis connections after its consumer and loses nothing when they are cut mid-batch', async () => {
  await scenario(sharedInfra().redisUrl, async ({ db, redis, prefix, vars, videoId }) => {
    const consumerId = `cut-${prefix.replace(/[^A-Za-z0-9]/g, '')}`;
    const worker = start('worker', { ...vars, WORKER_CONSUMER_ID: consumerId });
    start('reaper', vars);
    const processing = testQueue(prefix).keys.processing(consumerId);
    const named = async () => {
      const list = String(await redis.call('CLIENT', 'LIST', 'TYPE', 'normal'));
      return list
        .split('\n')
        .filter((line) => line.includes(` name=worker:${consumerId} `))
        .map((line) => /^id=(\d+)/.exec(line)?.[1] ?? '');
    };
    // Mid-batch: the worker holds claimed, unacked jobs when its connections die.
    await waitFor('a batch in hand', async () => (await redis.llen(processing)) > 0, 60_000);
    const ids = await named();
    expect(ids.length).toBeGreaterThan(0);
    for (const id of ids) await redis.call('CLIENT', 'KILL', 'ID', id);
    await expectFinished(db, videoId, () => worker.output.join(''));
    // It reconnected under the same name.
    expect((await named()).length).toBeGreaterThan(0);
  });
});

describe('with a private Redis', () => {
  let server: RedisServer;
  beforeAll(async () => {
    server = await startRedis({ appendfsync: 'always' });
  });
  afterAll(async () => {
    await server.stop();
  });

  it('loses no frame when Redis loses all its data mid-run (FLUSHALL): the reconciler re-enqueues', async () => {
    await scenario(server.url, async ({ db, redis, vars, videoId }) => {
      start('reaper', vars);
      const worker = start('worker', vars);
      await someResults(db, videoId, 8);
      await redis.flushall();
      await expectFinished(db, videoId, () => worker.output.join(''));
      expect((await new VideoRepository(db).get(videoId)).status).toBe('completed');
    });
  });
});

describe('with a private Redis whose connections drop', () => {
  let server: RedisServer;
  beforeAll(async () => {
    server = await startRedis({ appendfsync: 'always' });
  });
  afterAll(async () => {
    await server.stop();
  });

  it("the reaper adopts a stalled worker's jobs; after its connection drops and comes back, nothing is written twice", async () => {
    await scenario(server.url, async ({ db, redis, prefix, vars, videoId }) => {
      start('reaper', vars);
      const worker = start('worker', vars);
      await someResults(db, videoId, 8);
      const [consumerId] = await redis.smembers(`${prefix}{frames}:consumers`);
      if (consumerId === undefined) throw new Error('the worker registered no consumer');
      const processing = `${prefix}{frames}:processing:${consumerId}`;
      // Stall it past its heartbeat TTL (1 s) while it holds claimed jobs.
      worker.child.kill('SIGSTOP');
      try {
        expect(await redis.llen(processing)).toBeGreaterThan(0);
        await waitFor(
          "the reaper to take the stalled worker's jobs back",
          async () =>
            (await redis.llen(processing)) === 0 &&
            !(await redis.sismember(`${prefix}{frames}:consumers`, consumerId)),
          20_000,
        );
        // Its connections drop (every client but this one: the reaper's reconnect too).
        expect(await redis.client('KILL', 'TYPE', 'normal', 'SKIPME', 'yes')).toBeGreaterThan(0);
      } finally {
        worker.child.kill('SIGCONT');
      }
      // It reconnects, re-syncs, writes the batches it had in hand (idempotently) and goes on.
      await expectFinished(db, videoId, () => worker.output.join(''));
      expect((await new VideoRepository(db).get(videoId)).status).toBe('completed');
      expect(worker.child.exitCode).toBeNull();
      const outcomes = await frameOutcomes(db, videoId);
      expect(outcomes.every((o) => o.results === 1 && o.failures === 0)).toBe(true);
    });
  });
});

describe('with a private Postgres', () => {
  let server: PostgresServer;
  beforeAll(async () => {
    server = await startPostgres();
  });
  afterAll(async () => {
    await server.stop();
  });

  it('loses and duplicates nothing when Postgres restarts mid-run', async () => {
    await scenario(
      sharedInfra().redisUrl,
      async ({ db, vars, videoId }) => {
        start('reaper', vars);
        const worker = start('worker', vars);
        await someResults(db, videoId, 8);
        await server.restart();
        await expectFinished(db, videoId, () => worker.output.join(''));
        expect(worker.child.exitCode).toBeNull(); // it rode out the outage
      },
      server.databaseUrl('postgres'),
    );
  });
});

it('finishes the batch in hand on SIGTERM and exits 0', async () => {
  await scenario(sharedInfra().redisUrl, async ({ db, redis, prefix, vars, videoId }) => {
    const worker = start('worker', vars);
    await someResults(db, videoId, 8);
    expect(await worker.terminate()).toBe(0);
    // Nothing left claimed: what was not finished went back to pending.
    expect(await redis.keys(`${prefix}{frames}:processing:*`)).toEqual([]);
    start('worker', vars);
    start('reaper', vars);
    await expectFinished(db, videoId, () => worker.output.join(''));
  });
});

it('exits with code 1 when the detector keeps failing, handing its jobs back; a healthy worker finishes', async () => {
  const failing = await writeRedSquareModel(`${space.dir}/fails-on-red.onnx`, {
    inputSize: 320,
    failsOnRed: true,
  });
  await scenario(sharedInfra().redisUrl, async (s) => {
    // Every frame has a red square: every run fails inside onnxruntime (the model loads and
    // warms up on gray, so the worker starts and claims as usual).
    const broken = start('worker', {
      ...s.vars,
      WORKER_MODEL_PATH: failing,
      WORKER_MAX_DETECTOR_FAILURES: '2',
    });
    expect(await broken.exited).toBe(1);
    const output = broken.output.join('');
    expect(output).toContain('the detector failed 2 times in a row; giving up');
    expect(output).toContain('exiting: the detector keeps failing');
    // The jobs it held wait as retries.
    const depths = await expectHandedBackThenFinished(s);
    expect(depths.delayed).toBeGreaterThan(0);
  });
});

it('ends itself with SIGKILL when an inference run hangs, handing its jobs back; a healthy worker finishes', async () => {
  await scenario(sharedInfra().redisUrl, async (s) => {
    // A run timeout far below a run's time (the warm-up is exempt): the first batch "hangs".
    const hung = start('worker', { ...s.vars, WORKER_RUN_TIMEOUT: '1ms', LOG_LEVEL: 'info' });
    expect(await hung.exited).toBeNull();
    expect(hung.child.signalCode).toBe('SIGKILL');
    const output = hung.output.join('');
    expect(output).toContain('longer than the run timeout (1 ms)');
    expect(output).toContain('an inference run hung; giving up');
    // The graceful steps ran before the SIGKILL.
    expect(output).toContain('worker closed');
    expect(output).toContain('exiting with SIGKILL after shutdown');
    await expectHandedBackThenFinished(s);
  });
});
