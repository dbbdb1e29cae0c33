// A consumer in its own process, for the SIGKILL test. Usage:
//   tsx crash-consumer.spec-helper.ts <redisUrl> <keyPrefix> <consumerId> <completeBelow>
// Jobs with n < completeBelow are recorded in the sink hash and acked; every other job hangs
// forever, so the process holds a batch when it is killed. Prints progress lines on stdout.
import { Redis } from 'ioredis';
import { QueueConsumer } from './consumer';
import { testQueue } from './queue-test.spec-helper';
import { QueueWorker } from './worker';

async function main(): Promise<void> {
  const [url, prefix, consumerId, completeBelow] = process.argv.slice(2);
  if (!url || !prefix || !consumerId || !completeBelow) throw new Error('missing arguments');
  const redis = new Redis(url);
  const queue = testQueue(prefix);
  let acked = 0;
  let hanging = 0;
  const consumer = new QueueConsumer(queue, redis, {
    consumerId,
    prefetch: 32,
    heartbeatTtlMs: 1000,
    heartbeatIntervalMs: 250,
    onEvent: (event) => {
      if (event.type === 'acked') {
        acked += event.count;
        process.stdout.write(`acked ${acked}\n`);
      }
    },
  });
  const worker = new QueueWorker(
    consumer,
    async (job) => {
      if (job.data.n < Number(completeBelow)) {
        await redis.hincrby(`${prefix}sink`, job.id, 1);
        return;
      }
      hanging++;
      process.stdout.write(`hanging ${hanging}\n`);
      await new Promise(() => undefined);
    },
    { concurrency: 4 },
  );
  await worker.start();
  process.stdout.write('started\n');
}

main().catch((error: unknown) => {
  process.stderr.write(`${String(error)}\n`);
  process.exit(1);
});
