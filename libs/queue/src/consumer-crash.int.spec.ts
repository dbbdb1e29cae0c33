import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import {
  deleteKeysWithPrefix,
  sharedInfra,
  sharedRedisClient,
  uniqueKeyPrefix,
} from '@framewise/testing';
import type { Redis } from 'ioredis';
import { QueueAdmin } from './admin';
import { QueueConsumer } from './consumer';
import { QueueProducer } from './producer';
import { numberedJobs, testQueue, waitFor } from './queue-test.spec-helper';
import { QueueReaper } from './reaper';
import { QueueWorker } from './worker';

const root = path.resolve(__dirname, '../../..');
let redis: Redis;
let prefix: string;
let child: ChildProcess | undefined;

beforeAll(() => {
  redis = sharedRedisClient();
  prefix = uniqueKeyPrefix('queue');
});

afterAll(async () => {
  child?.kill('SIGKILL');
  await deleteKeysWithPrefix(redis, prefix);
  await redis.quit();
});

/** Starts the child consumer and collects its stdout lines. */
function startChild(completeBelow: number): { lines: string[]; exited: Promise<unknown> } {
  const lines: string[] = [];
  // `node --import tsx`, not the tsx binary: that one runs the script in a grandchild
  // process, which a SIGKILL of the tsx process would leave running.
  child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      path.join(__dirname, 'crash-consumer.spec-helper.ts'),
      sharedInfra().redisUrl,
      prefix,
      'doomed',
      String(completeBelow),
    ],
    { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] },
  );
  let partial = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    const text = partial + chunk.toString('utf8');
    const parts = text.split('\n');
    partial = parts.pop() ?? '';
    lines.push(...parts);
  });
  const exited = new Promise((resolve) => child?.once('exit', resolve));
  return { lines, exited };
}

it('a consumer SIGKILLed mid-batch loses nothing: the reaper returns its jobs and survivors ack each once', async () => {
  const total = 300;
  const queue = testQueue(prefix, { maxDeliveries: 5 });
  const admin = new QueueAdmin(queue, redis);
  await new QueueProducer(queue, redis).enqueue(numberedJobs(total));

  // The child acks jobs 0-9, then hangs on four more while holding a prefetched batch.
  const { lines, exited } = startChild(10);
  await waitFor(
    'the child to hold a batch',
    () => lines.filter((l) => l.startsWith('hanging')).length === 4,
    30_000,
  );
  await waitFor('the child to ack its first jobs', () => lines.includes('acked 10'));
  expect((await admin.depths()).processing).toBe(32 - 10);
  child?.kill('SIGKILL');
  await exited;

  // Survivors: two workers and a reaper in this process.
  const survivorCounts = new Map<string, number>();
  let lost = 0;
  const survivors = ['survivor-a', 'survivor-b'].map(
    (consumerId) =>
      new QueueWorker(
        new QueueConsumer(queue, redis, {
          consumerId,
          prefetch: 16,
          onEvent: (event) => {
            if (event.type === 'lost') lost += event.count;
          },
        }),
        async (job) => {
          survivorCounts.set(job.id, (survivorCounts.get(job.id) ?? 0) + 1);
          await redis.hincrby(`${prefix}sink`, job.id, 1);
        },
        { concurrency: 4 },
      ),
  );
  for (const survivor of survivors) await survivor.start();
  const reaper = new QueueReaper(queue, redis, { intervalMs: 100 });
  reaper.start();
  try {
    await waitFor(
      'every job in the sink',
      async () => (await redis.hlen(`${prefix}sink`)) === total,
      30_000,
    );
    await waitFor('the queue to drain', async () => {
      const d = await admin.depths();
      return d.pending === 0 && d.processing === 0 && d.delayed === 0;
    });
  } finally {
    await reaper.stop();
    for (const survivor of survivors) await survivor.close({ deadlineMs: 1000 });
  }

  const sink = await redis.hgetall(`${prefix}sink`);
  // Every job committed exactly once overall: the child's ten acks stuck, the rest went to
  // the survivors, none twice, and no survivor's ack found its job gone.
  expect(Object.values(sink).every((count) => count === '1')).toBe(true);
  expect(survivorCounts.size).toBe(total - 10);
  expect([...survivorCounts.values()].every((n) => n === 1)).toBe(true);
  expect(lost).toBe(0);
  expect(await admin.depths()).toMatchObject({ dead: 0, consumers: 0 });
  // The 22 jobs the child held were delivered twice: once to it, once to a survivor.
  expect(await redis.hlen(queue.keys.attempts)).toBe(0);
});
