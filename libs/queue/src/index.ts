/**
 * @framewise/queue — a reliable Redis work queue (see README.md for the protocol and its
 * guarantees: at-least-once delivery, so sinks must be idempotent).
 *
 * ```ts
 * const frames = defineQueue({ name: 'frames', schema: FrameJob, maxDeliveries: 5 });
 * await new QueueProducer(frames, redis).enqueue(jobs.map((data) => ({ data, group: videoId })));
 * const worker = new QueueWorker(new QueueConsumer(frames, redis, { prefetch: 64 }), handle, { concurrency: 8 });
 * await worker.start();
 * new QueueReaper(frames, redis).start(); // in the reaper service
 * ```
 */
export { defineQueue } from './definition';
export type { Job, NewJob, QueueDefinition, QueueOptions, DecodeResult } from './definition';
export { queueKeys, DEFAULT_KEY_PREFIX } from './keys';
export type { QueueKeys } from './keys';
export { QueueProducer } from './producer';
export type { EnqueueOptions } from './producer';
export { QueueConsumer, defaultConsumerId } from './consumer';
export type {
  AckResult,
  ClaimResult,
  ConsumerEvent,
  ConsumerOptions,
  ConsumerStats,
  FailResult,
} from './consumer';
export { QueueWorker } from './worker';
export type { CloseReport, JobHandler, WorkerOptions } from './worker';
export { QueueReaper } from './reaper';
export type { ReapReport, ReaperOptions } from './reaper';
export { QueueAdmin } from './admin';
export type { DeadLetter, QueueDepths } from './admin';
export { assessDurability, checkRedisDurability } from './durability';
export type { DurabilityCheckOptions, DurabilityReport } from './durability';
export { retryDelayMs, DEFAULT_RETRY_POLICY } from './backoff';
export type { RetryPolicy } from './backoff';
export {
  QueueError,
  PermanentJobError,
  InvalidPayloadError,
  CloseDeadlineError,
  UnsafeRedisError,
  QueueConfigError,
  isPermanent,
} from './errors';
export type { RedisClient, QueueLogger } from './redis-client';
