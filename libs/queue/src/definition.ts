import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { DEFAULT_RETRY_POLICY, type RetryPolicy } from './backoff';
import { QueueConfigError } from './errors';
import { DEFAULT_KEY_PREFIX, queueKeys, type QueueKeys } from './keys';
import { loadQueueScripts, type QueueScripts } from './scripts';

/** A job as a handler sees it. */
export interface Job<T> {
  /** Unique job id (given at enqueue, or a random UUID). */
  readonly id: string;
  /** Optional group, for example the video id: {@link QueueAdmin.removePendingGroup} cancels by it. */
  readonly group: string | undefined;
  /** When the producer enqueued it (ms since epoch, producer clock). */
  readonly enqueuedAt: number;
  /** The validated data. */
  readonly data: T;
  /**
   * The exact string stored in Redis. Acks match it byte for byte (`LREM`), which is why
   * nothing about a delivery (such as its count) is ever written into it.
   */
  readonly payload: string;
}

/** What a producer enqueues. */
export interface NewJob<T> {
  readonly data: T;
  /** A unique id; defaults to a random UUID. Two live jobs must never share one. */
  readonly id?: string;
  /** Group key (for example the video id) for cancelling all pending jobs of the group. */
  readonly group?: string;
}

/** Options of {@link defineQueue}. */
export interface QueueOptions<T> {
  /** Queue name, the Redis Cluster hash tag: keys are `<keyPrefix>{<name>}:…`. */
  readonly name: string;
  /** Validates `data` on enqueue and again on claim. */
  readonly schema: z.ZodType<T>;
  /** Default `fw:`; tests pass a unique prefix per test. */
  readonly keyPrefix?: string;
  /** Deliveries a job gets before it is dead-lettered (failures and reclaims both count). Default 5. */
  readonly maxDeliveries?: number;
  /** Backoff between retries. */
  readonly retry?: Partial<RetryPolicy>;
}

export type DecodeResult<T> =
  | { readonly ok: true; readonly job: Job<T> }
  | { readonly ok: false; readonly jobId: string | undefined; readonly error: string };

/**
 * One queue's contract, shared by its producers, consumers, reapers and admins: names, keys,
 * payload schema and delivery limits. Build it once (for example in a shared module of the
 * service) and pass it to each of them, so all sides agree on the limits.
 */
export interface QueueDefinition<T> {
  readonly name: string;
  readonly keyPrefix: string;
  readonly keys: QueueKeys;
  readonly maxDeliveries: number;
  readonly retry: RetryPolicy;
  readonly scripts: QueueScripts;
  /** Validates and serializes a new job. Throws a zod error on invalid data. */
  encode(job: NewJob<T>, now?: number): { readonly id: string; readonly payload: string };
  /** Parses and validates a stored payload; never throws. */
  decode(payload: string): DecodeResult<T>;
  /** The plain-text fragment every payload of `group` contains (for the cancel script). */
  groupNeedle(group: string): string;
}

/** Defines a queue. Throws {@link QueueConfigError} on a bad name, prefix or limit. */
export function defineQueue<T>(options: QueueOptions<T>): QueueDefinition<T> {
  const keyPrefix = options.keyPrefix ?? DEFAULT_KEY_PREFIX;
  const keys = queueKeys(options.name, keyPrefix);
  const maxDeliveries = options.maxDeliveries ?? 5;
  if (!Number.isInteger(maxDeliveries) || maxDeliveries < 1 || maxDeliveries > 1000) {
    throw new QueueConfigError(`maxDeliveries must be an integer in 1..1000, not ${maxDeliveries}`);
  }
  const retry: RetryPolicy = { ...DEFAULT_RETRY_POLICY, ...options.retry };
  if (!(retry.baseDelayMs >= 0 && retry.maxDelayMs >= retry.baseDelayMs)) {
    throw new QueueConfigError('retry needs 0 <= baseDelayMs <= maxDelayMs');
  }
  const envelope = z.object({
    id: z.string().min(1).max(200),
    group: z.string().optional(),
    at: z.number(),
    data: options.schema,
  });

  return {
    name: options.name,
    keyPrefix,
    keys,
    maxDeliveries,
    retry,
    scripts: loadQueueScripts(),
    encode(job, now = Date.now()) {
      const data = options.schema.parse(job.data);
      const id = job.id ?? randomUUID();
      if (id.length === 0 || id.length > 200) {
        throw new QueueConfigError(`job id must be 1-200 characters, got ${id.length}`);
      }
      // Field order is fixed: `group` right after `id`, so the cancel script's needle is exact.
      const payload = JSON.stringify({ id, group: job.group, at: now, data });
      return { id, payload };
    },
    decode(payload) {
      let parsed: unknown;
      try {
        parsed = JSON.parse(payload);
      } catch {
        return { ok: false, jobId: undefined, error: 'payload is not JSON' };
      }
      const result = envelope.safeParse(parsed);
      if (!result.success) {
        const id = isRecord(parsed) && typeof parsed.id === 'string' ? parsed.id : undefined;
        return { ok: false, jobId: id, error: `invalid payload: ${z.prettifyError(result.error)}` };
      }
      const { id, group, at, data } = result.data;
      return { ok: true, job: { id, group, enqueuedAt: at, data: data, payload } };
    },
    groupNeedle(group) {
      return `"group":${JSON.stringify(group)}`;
    },
  };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}
