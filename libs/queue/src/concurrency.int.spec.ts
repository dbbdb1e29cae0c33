import {
  deleteKeysWithPrefix,
  sharedInfra,
  sharedRedisClient,
  uniqueKeyPrefix,
} from '@framewise/testing';
import { Redis, type RedisOptions } from 'ioredis';
import { QueueConsumer } from './consumer';
import type { QueueDefinition } from './definition';
import { QueueProducer } from './producer';
import { numberedJobs, testQueue, waitFor, type TestJob } from './queue-test.spec-helper';
import { QueueReaper } from './reaper';
import { QueueWorker } from './worker';

let redis: Redis;
let prefix: string;
let queue: QueueDefinition<TestJob>;
const clients: Redis[] = [];

beforeEach(() => {
  redis = sharedRedisClient();
  prefix = uniqueKeyPrefix('queue');
  queue = testQueue(prefix, { maxDeliveries: 10 });
});

afterEach(async () => {
  await deleteKeysWithPrefix(redis, prefix);
  // disconnect() on a connection that already ended arms a 2 s timer in ioredis.
  for (const client of clients.splice(0)) if (client.status !== 'end') client.disconnect();
  await redis.quit();
});

function client(options: RedisOptions = {}): Redis {
  const c = new Redis(sharedInfra().redisUrl, options);
  clients.push(c);
  return c;
}

it('reapers racing over the same dead consumers never duplicate a job', async () => {
  await new QueueProducer(queue, redis).enqueue(numberedJobs(400));
  // 40 consumers each claim 10 jobs, then all die at once.
  for (let i = 0; i < 40; i++) {
    const c = new QueueConsumer(queue, redis, {
      consumerId: `dead-${i}`,
      heartbeatIntervalMs: 50_000,
      heartbeatTtlMs: 60_000,
    });
    await c.start();
    expect((await c.claim(10)).jobs).toHaveLength(10);
    c.stop();
    await redis.del(queue.keys.heartbeat(c.id));
  }
  // Four reapers on their own connections, three passes each, all at once.
  const reapers = Array.from({ length: 4 }, () => new QueueReaper(queue, client()));
  const reports = await Promise.all(
    reapers.flatMap((reaper) => [reaper.runOnce(), reaper.runOnce(), reaper.runOnce()]),
  );
  expect(reports.reduce((sum, r) => sum + r.reclaimed, 0)).toBe(400);
  expect(reports.reduce((sum, r) => sum + r.consumersReaped, 0)).toBe(40);
  const pending = await redis.lrange(queue.keys.pending, 0, -1);
  expect(pending).toHaveLength(400);
  expect(new Set(pending).size).toBe(400);
  const attempts = await redis.hgetall(queue.keys.attempts);
  expect(Object.keys(attempts)).toHaveLength(400);
  expect(Object.values(attempts).every((n) => n === '1')).toBe(true);
});

describe('a connection destroyed during BLMOVE', () => {
  async function idleWorker(
    handled: string[],
  ): Promise<{ worker: QueueWorker<TestJob>; consumer: QueueConsumer<TestJob> }> {
    const consumer = new QueueConsumer(queue, redis, {
      consumerId: 'blocked',
      // As the default, plus a name to find the connection by.
      createBlockingClient: () =>
        client({ connectionName: `${prefix}block`, retryStrategy: () => null }),
    });
    const worker = new QueueWorker(consumer, (job) => {
      handled.push(job.id);
    });
    await worker.start();
    return { worker, consumer };
  }

  /** CLIENT KILL on the worker's blocking connection once it is parked in BLMOVE. */
  async function killBlockingConnection(): Promise<void> {
    let id: string | undefined;
    await waitFor('the worker to block in BLMOVE', async () => {
      const list = String(await redis.client('LIST'));
      const line = list
        .split('\n')
        .find((l) => l.includes(` name=${prefix}block `) && l.includes('cmd=blmove'));
      id = /^id=(\d+)/.exec(line ?? '')?.[1];
      return id !== undefined;
    });
    expect(await redis.client('KILL', 'ID', id ?? '')).toBe(1);
  }

  it('still delivers jobs enqueued after the kill', async () => {
    const handled: string[] = [];
    const { worker } = await idleWorker(handled);
    try {
      await killBlockingConnection();
      await new QueueProducer(queue, redis).enqueue(numberedJobs(3));
      await waitFor('the jobs', () => handled.length === 3, 10_000);
    } finally {
      await worker.close();
    }
  });

  it('finds a job the server moved whose reply was lost', async () => {
    const handled: string[] = [];
    const { worker, consumer } = await idleWorker(handled);
    try {
      // As if BLMOVE had moved the job and the connection died before the reply arrived.
      // Pushing to the processing list does not wake the BLMOVE, which watches pending.
      const { payload } = queue.encode({ id: 'j0', data: { n: 0 } });
      await redis.lpush(queue.keys.processing(consumer.id), payload);
      await killBlockingConnection();
      await waitFor('the stranded job', () => handled.includes('j0'), 10_000);
      await waitFor(
        'its ack',
        async () => (await redis.llen(queue.keys.processing(consumer.id))) === 0,
      );
    } finally {
      await worker.close();
    }
  });
});
