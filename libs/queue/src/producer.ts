import type { NewJob, QueueDefinition } from './definition';
import type { RedisClient } from './redis-client';

/** Options of {@link QueueProducer.enqueue}. */
export interface EnqueueOptions {
  /**
   * Put the jobs at the consume end, so they are claimed before everything already waiting
   * (priority work, or handing jobs back). In the order given: the first is claimed first.
   */
  readonly front?: boolean;
}

/** Payloads per LPUSH/RPUSH: big enough to amortize, small enough to keep each command short. */
const PUSH_CHUNK = 1000;

/** Enqueues jobs. Stateless apart from its client; share one per process. */
export class QueueProducer<T> {
  constructor(
    private readonly queue: QueueDefinition<T>,
    private readonly redis: RedisClient,
  ) {}

  /**
   * Validates and enqueues `jobs` in one pipelined round trip (one multi-value push per 1,000
   * jobs). Returns their ids in order. Each push is atomic; a failure part-way leaves earlier
   * chunks enqueued, so retrying is safe only because delivery is at-least-once anyway.
   */
  async enqueue(jobs: readonly NewJob<T>[], options: EnqueueOptions = {}): Promise<string[]> {
    if (jobs.length === 0) return [];
    const now = Date.now();
    const encoded = jobs.map((job) => this.queue.encode(job, now));
    const payloads = encoded.map((e) => e.payload);
    // Producers push left and consumers pop right, so LPUSH a,b,c keeps FIFO order. At the
    // front, the first job must end up rightmost: RPUSH the list reversed.
    if (options.front) payloads.reverse();
    const pipeline = this.redis.pipeline();
    for (let i = 0; i < payloads.length; i += PUSH_CHUNK) {
      const chunk = payloads.slice(i, i + PUSH_CHUNK);
      if (options.front) pipeline.rpush(this.queue.keys.pending, ...chunk);
      else pipeline.lpush(this.queue.keys.pending, ...chunk);
    }
    const results = await pipeline.exec();
    for (const [error] of results ?? []) {
      if (error) throw error;
    }
    return encoded.map((e) => e.id);
  }

  /** Enqueues one job; returns its id. */
  async enqueueOne(job: NewJob<T>, options: EnqueueOptions = {}): Promise<string> {
    const [id] = await this.enqueue([job], options);
    if (id === undefined) throw new Error('enqueue returned no id');
    return id;
  }
}
