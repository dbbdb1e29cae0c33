import { deleteKeysWithPrefix, sharedRedisClient, uniqueKeyPrefix } from '@framewise/testing';
import type { Redis } from 'ioredis';
import { QueueAdmin } from './admin';
import { QueueConsumer, type ConsumerOptions } from './consumer';
import type { Job, QueueDefinition } from './definition';
import { checkRedisDurability } from './durability';
import { PermanentJobError } from './errors';
import { QueueProducer } from './producer';
import { numberedJobs, testQueue, waitFor, type TestJob } from './queue-test.spec-helper';
import { QueueReaper } from './reaper';
import { QueueWorker } from './worker';

let redis: Redis;
let prefix: string;
let queue: QueueDefinition<TestJob>;
let producer: QueueProducer<TestJob>;
let admin: QueueAdmin<TestJob>;
const cleanups: (() => Promise<unknown> | undefined)[] = [];

beforeAll(() => {
  redis = sharedRedisClient();
});

beforeEach(() => {
  prefix = uniqueKeyPrefix('queue');
  queue = testQueue(prefix);
  producer = new QueueProducer(queue, redis);
  admin = new QueueAdmin(queue, redis);
});

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  await deleteKeysWithPrefix(redis, prefix);
});

afterAll(async () => {
  await redis.quit();
});

/** A started low-level consumer whose heartbeat only changes when the test says so. */
async function consumer(options: ConsumerOptions = {}): Promise<QueueConsumer<TestJob>> {
  const c = new QueueConsumer(queue, redis, {
    heartbeatTtlMs: 60_000,
    heartbeatIntervalMs: 50_000,
    ...options,
  });
  await c.start();
  cleanups.push(() => {
    c.stop();
    return undefined;
  });
  return c;
}

async function worker(
  handler: (job: Job<TestJob>) => Promise<void> | void,
  options: { concurrency?: number; consumer?: ConsumerOptions } = {},
): Promise<QueueWorker<TestJob>> {
  const c = new QueueConsumer(queue, redis, options.consumer);
  const w = new QueueWorker(c, handler, { concurrency: options.concurrency ?? 4 });
  await w.start();
  cleanups.push(() => w.close({ deadlineMs: 1000 }));
  return w;
}

const ids = (jobs: readonly Job<TestJob>[]) => jobs.map((j) => j.id);

describe('producer and claims', () => {
  it('enqueues in FIFO order and claims a batch in one call, oldest first', async () => {
    await producer.enqueue(numberedJobs(10));
    const c = await consumer();
    const { jobs } = await c.claim(4);
    expect(ids(jobs)).toEqual(['j0', 'j1', 'j2', 'j3']);
    expect(jobs[0]?.data).toEqual({ n: 0 });
    expect(await admin.depths()).toMatchObject({ pending: 6, processing: 4, consumers: 1 });
  });

  it('puts jobs enqueued at the front ahead of everything, in the order given', async () => {
    await producer.enqueue(numberedJobs(3));
    await producer.enqueue(numberedJobs(2, 100), { front: true });
    const { jobs } = await (await consumer()).claim(10);
    expect(ids(jobs)).toEqual(['j100', 'j101', 'j0', 'j1', 'j2']);
  });

  it('never lets the processing list grow beyond the prefetch', async () => {
    await producer.enqueue(numberedJobs(20));
    const c = await consumer({ prefetch: 5 });
    expect((await c.claim(100)).jobs).toHaveLength(5);
    expect((await c.claim(100)).jobs).toHaveLength(0);
    expect((await admin.depths()).processing).toBe(5);
  });

  it('acks many in one call and claims the next batch in the same round trip', async () => {
    await producer.enqueue(numberedJobs(6));
    const c = await consumer();
    const { jobs } = await c.claim(3);
    const { ack, claimed } = await c.ackAndClaim(jobs, 3);
    expect(ack).toEqual({ acked: 3, lost: [] });
    expect(ids(claimed.jobs)).toEqual(['j3', 'j4', 'j5']);
    expect(await admin.depths()).toMatchObject({ pending: 0, processing: 3 });
  });

  it('refuses invalid data at enqueue', async () => {
    await expect(producer.enqueue([{ data: { n: 1.5 } }])).rejects.toThrow();
    expect((await admin.depths()).pending).toBe(0);
  });

  it('blocks only when empty and returns as soon as a job arrives', async () => {
    const c = await consumer();
    expect((await c.claim(5)).jobs).toHaveLength(0);
    const started = Date.now();
    const waiting = c.waitForJob(5000);
    setTimeout(() => void producer.enqueue(numberedJobs(1)), 100);
    const { jobs } = await waiting;
    expect(ids(jobs)).toEqual(['j0']);
    expect(Date.now() - started).toBeLessThan(2000);
    expect(await c.ack(jobs)).toEqual({ acked: 1, lost: [] });
  });
});

describe('reclaim and acks', () => {
  it('reports an ack after a reclaim as lost, and the job is delivered again', async () => {
    await producer.enqueue(numberedJobs(2));
    const slow = await consumer();
    const { jobs } = await slow.claim(2);
    await redis.del(queue.keys.heartbeat(slow.id)); // as if it stalled past its TTL
    const report = await new QueueReaper(queue, redis).runOnce();
    expect(report).toMatchObject({ consumersReaped: 1, reclaimed: 2, deadLettered: 0 });

    const ack = await slow.ack(jobs);
    expect(ack.acked).toBe(0);
    expect(ids(ack.lost)).toEqual(['j0', 'j1']);
    const other = await consumer();
    expect(ids((await other.claim(5)).jobs)).toEqual(['j0', 'j1']);
  });

  it('leaves live consumers alone', async () => {
    await producer.enqueue(numberedJobs(2));
    const c = await consumer();
    await c.claim(2);
    expect(await new QueueReaper(queue, redis).runOnce()).toMatchObject({
      reclaimed: 0,
      consumersReaped: 0,
    });
  });

  it('dead-letters a job whose consumers keep dying after maxDeliveries, with the reason', async () => {
    await producer.enqueue([{ id: 'killer', data: { n: 1 } }]);
    const reaper = new QueueReaper(queue, redis);
    for (let delivery = 1; delivery <= queue.maxDeliveries; delivery++) {
      const c = await consumer();
      expect(ids((await c.claim(1)).jobs)).toEqual(['killer']);
      await redis.del(queue.keys.heartbeat(c.id));
      await reaper.runOnce();
    }
    const [dead] = await admin.listDead();
    expect(dead).toMatchObject({ id: 'killer', deliveries: 3, permanent: false });
    expect(dead?.error).toMatch(/stopped heartbeating/);
    expect(await admin.depths()).toMatchObject({ pending: 0, processing: 0, dead: 1 });
  });

  it('recovers what a previous run with the same consumer id left behind, counting a delivery', async () => {
    await producer.enqueue(numberedJobs(3));
    const first = await consumer({ consumerId: 'pod-0' });
    await first.claim(3);
    first.stop(); // crash: nothing handed back
    const second = new QueueConsumer(queue, redis, { consumerId: 'pod-0' });
    expect(await second.start()).toEqual({ recovered: 3, deadLettered: 0 });
    cleanups.push(() => {
      second.stop();
      return undefined;
    });
    expect(ids((await second.claim(5)).jobs)).toEqual(['j0', 'j1', 'j2']);
    expect(await redis.hget(queue.keys.attempts, 'j0')).toBe('1');
  });
});

describe('failures', () => {
  it('retries with backoff through the delayed set, then dead-letters with the last error', async () => {
    await producer.enqueue([{ id: 'flaky', data: { n: 1 } }]);
    const c = await consumer();
    const reaper = new QueueReaper(queue, redis);
    const outcomes = [];
    for (let delivery = 1; delivery <= 3; delivery++) {
      await waitFor('the retry to come due', async () => {
        await reaper.promoteDue();
        return (await admin.depths()).pending === 1;
      });
      const [job] = (await c.claim(1)).jobs;
      if (!job) throw new Error('no job');
      outcomes.push(await c.fail(job, new Error(`boom ${delivery}`)));
    }
    expect(outcomes.map((o) => o.outcome)).toEqual(['retry', 'retry', 'dead']);
    expect(outcomes[0]).toMatchObject({ deliveries: 1 });
    const [dead] = await admin.listDead();
    expect(dead).toMatchObject({ id: 'flaky', deliveries: 3, error: 'Error: boom 3' });
    // Dead-lettering clears the attempt history, so a replay starts afresh.
    expect(await redis.hlen(queue.keys.attempts)).toBe(0);
  });

  it('dead-letters at once on a PermanentJobError', async () => {
    await producer.enqueue(numberedJobs(1));
    const c = await consumer();
    const [job] = (await c.claim(1)).jobs;
    if (!job) throw new Error('no job');
    expect(await c.fail(job, new PermanentJobError('frame gone'))).toEqual({
      outcome: 'dead',
      deliveries: 1,
    });
    expect(await admin.listDead()).toEqual([
      expect.objectContaining({
        id: 'j0',
        permanent: true,
        error: 'PermanentJobError: frame gone',
      }),
    ]);
  });

  it('a worker dead-letters a poison job after maxDeliveries with its last error and finishes the rest', async () => {
    await producer.enqueue([...numberedJobs(20), { id: 'poison', data: { n: -1 } }]);
    const done = new Set<string>();
    await worker((job) => {
      if (job.id === 'poison') throw new Error('cannot decode frame');
      done.add(job.id);
    });
    const reaper = new QueueReaper(queue, redis, { intervalMs: 20 });
    reaper.start();
    cleanups.push(() => reaper.stop());
    await waitFor(
      'the poison job in the dead letters',
      async () => (await admin.depths()).dead === 1,
    );
    expect(done.size).toBe(20);
    const [dead] = await admin.listDead();
    expect(dead).toMatchObject({
      id: 'poison',
      deliveries: 3,
      error: 'Error: cannot decode frame',
    });
  });

  it('dead-letters malformed payloads and keeps consuming', async () => {
    await redis.lpush(queue.keys.pending, 'not json at all');
    await redis.lpush(queue.keys.pending, JSON.stringify({ id: 'bad', at: 1, data: { n: 'x' } }));
    await producer.enqueue(numberedJobs(5));
    const done: string[] = [];
    await worker((job) => {
      done.push(job.id);
    });
    await waitFor('the good jobs', () => done.length === 5);
    const dead = await admin.listDead();
    expect(dead.map((d) => d.id).sort()).toEqual(['', 'bad']);
    expect(dead.every((d) => d.permanent)).toBe(true);
    expect(dead.find((d) => d.id === 'bad')?.error).toMatch(/invalid payload/);
  });
});

describe('worker', () => {
  it('processes every job once with concurrency, acking in batches', async () => {
    const seen = new Map<string, number>();
    let acked = 0;
    await producer.enqueue(numberedJobs(500));
    await worker(
      async (job) => {
        seen.set(job.id, (seen.get(job.id) ?? 0) + 1);
        await new Promise((resolve) => setImmediate(resolve));
      },
      {
        concurrency: 8,
        consumer: {
          prefetch: 32,
          onEvent: (e) => {
            if (e.type === 'acked') acked += e.count;
          },
        },
      },
    );
    await waitFor('every ack', () => acked === 500);
    expect(seen.size).toBe(500);
    expect([...seen.values()].every((n) => n === 1)).toBe(true);
    expect(await admin.depths()).toMatchObject({ pending: 0, processing: 0 });
  });

  it('picks up jobs that arrive while it is idle', async () => {
    const done: string[] = [];
    await worker((job) => {
      done.push(job.id);
    });
    await new Promise((resolve) => setTimeout(resolve, 100));
    await producer.enqueue(numberedJobs(3));
    await waitFor('the late jobs', () => done.length === 3, 5000);
  });

  it('closes gracefully: finishes what it can, fails the overdue, hands the unstarted back', async () => {
    await producer.enqueue(numberedJobs(10));
    const started: string[] = [];
    let unblock: (value?: unknown) => void = () => undefined;
    const stuck = new Promise((resolve) => (unblock = resolve));
    cleanups.push(() => {
      unblock();
      return undefined;
    });
    const c = new QueueConsumer(queue, redis, { prefetch: 10 });
    const w = new QueueWorker(
      c,
      async (job) => {
        started.push(job.id);
        await (job.id === 'j0' ? stuck : new Promise((resolve) => setTimeout(resolve, 10)));
      },
      { concurrency: 2 },
    );
    await w.start();
    await waitFor('handlers to start', () => started.length >= 2);
    const report = await w.close({ deadlineMs: 300 });
    expect(report.abandoned).toBe(1);
    const depths = await admin.depths();
    expect(depths).toMatchObject({ processing: 0, delayed: 1, consumers: 0 });
    expect(depths.pending).toBe(report.handedBack);
    // Everything not finished is either back in pending or waiting for its retry.
    expect(depths.pending + depths.delayed + started.length - 1).toBe(10);
  });
});

describe('admin', () => {
  it('reports depths and the age of the oldest pending job', async () => {
    expect(await admin.oldestPendingAgeMs()).toBeUndefined();
    await producer.enqueue(numberedJobs(3));
    const age = await admin.oldestPendingAgeMs(Date.now() + 1000);
    expect(age).toBeGreaterThanOrEqual(1000);
    expect(age).toBeLessThan(5000);
  });

  it('lists, replays and purges dead letters', async () => {
    await producer.enqueue(numberedJobs(3));
    const c = await consumer();
    for (const job of (await c.claim(3)).jobs) await c.fail(job, new PermanentJobError('no'));
    expect((await admin.listDead({ limit: 2 })).map((d) => d.id)).toEqual(['j2', 'j1']);
    expect(await admin.replayDead(2)).toBe(2);
    expect(ids((await c.claim(5)).jobs)).toEqual(['j0', 'j1']);
    expect(await admin.purgeDead()).toBe(1);
    expect((await admin.depths()).dead).toBe(0);
  });

  it('removes every pending and delayed job of one group (cancel a video)', async () => {
    const jobs = Array.from({ length: 30 }, (_, i) => ({
      id: `f${i}`,
      group: i % 3 === 0 ? 'video-a' : 'video-b',
      data: { n: i, note: '"group":"video-a"' }, // the needle inside data must not fool it
    }));
    await producer.enqueue(jobs);
    const c = await consumer();
    const [first] = (await c.claim(1)).jobs; // f0, video-a: claimed jobs are not touched
    const [second] = (await c.claim(1)).jobs; // f1, video-b
    if (!first || !second) throw new Error('no jobs');
    await c.fail(second, new Error('retry later'));
    const [third] = (await c.claim(1)).jobs; // f2 video-b
    const [fourth] = (await c.claim(1)).jobs; // f3 video-a → delayed
    if (!third || !fourth) throw new Error('no jobs');
    await c.fail(fourth, new Error('retry later'));

    // Windows of 4 jobs: matches straddle window edges and shift the rest left.
    expect(await admin.removePendingGroup('video-a', 4)).toEqual({ pending: 8, delayed: 1 });
    const left = await redis.lrange(queue.keys.pending, 0, -1);
    expect(left).toHaveLength(30 - 4 - 8);
    expect(left.every((p) => p.includes('"group":"video-b"'))).toBe(true);
    expect(await redis.zcard(queue.keys.delayed)).toBe(1);
  });

  it('finds the shared test Redis durable', async () => {
    const warnings: string[] = [];
    const report = await checkRedisDurability(redis, {
      logger: { warn: (_c, m) => warnings.push(m), error: (_c, m) => warnings.push(m) },
    });
    expect(report).toMatchObject({ checked: true, appendonly: 'yes', problems: [] });
    expect(warnings).toEqual([]);
  });
});
