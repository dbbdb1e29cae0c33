import { startRedis, type RedisServer } from '@framewise/testing';
import { Redis } from 'ioredis';
import { QueueConsumer } from './consumer';
import { QueueProducer } from './producer';
import { numberedJobs, testQueue, waitFor } from './queue-test.spec-helper';
import { QueueReaper } from './reaper';
import { QueueWorker } from './worker';

let server: RedisServer;
let redis: Redis;

beforeAll(async () => {
  server = await startRedis({ appendfsync: 'always' });
  // No retry limit: commands wait through the crash and run once Redis is back.
  redis = new Redis(server.url, { maxRetriesPerRequest: null });
  redis.on('error', () => undefined); // connection refused while Redis is down is expected
});

afterAll(async () => {
  redis.disconnect();
  await server.stop();
});

it('Redis SIGKILLed and restarted from its AOF loses nothing that was enqueued before the crash', async () => {
  const queue = testQueue('crash:', { maxDeliveries: 100 });
  const producer = new QueueProducer(queue, redis);
  const confirmed = new Set<string>();
  const handled = new Set<string>();
  const worker = new QueueWorker(
    new QueueConsumer(queue, redis, { prefetch: 32, heartbeatTtlMs: 3000 }),
    async (job) => {
      await new Promise((resolve) => setImmediate(resolve));
      handled.add(job.id);
    },
    { concurrency: 8 },
  );
  await worker.start();
  const reaper = new QueueReaper(queue, redis, { intervalMs: 100 });
  reaper.start();

  // Producer: batches of 50 until told to stop; an id counts once its enqueue resolved.
  const control = { producing: true };
  const production = (async () => {
    for (let batch = 0; control.producing && batch < 200; batch++) {
      const jobs = numberedJobs(50, batch * 50);
      await producer.enqueue(jobs);
      for (const job of jobs) confirmed.add(job.id);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  })();

  try {
    await waitFor('work to be under way', () => handled.size >= 500 && confirmed.size >= 1000);
    await server.kill();
    const confirmedAtCrash = new Set(confirmed);
    await new Promise((resolve) => setTimeout(resolve, 500));
    await server.start();
    await waitFor(
      'more work after the restart',
      () => confirmed.size >= confirmedAtCrash.size + 500,
      30_000,
    );
    control.producing = false;
    await production;
    await waitFor(
      'every confirmed job to be handled',
      () => [...confirmed].every((id) => handled.has(id)),
      30_000,
    );
    expect([...confirmedAtCrash].filter((id) => !handled.has(id))).toEqual([]);
  } finally {
    control.producing = false;
    await production.catch(() => undefined);
    await reaper.stop();
    await worker.close({ deadlineMs: 1000 });
  }
});
