import { QueueConfigError } from './errors';

/**
 * The Redis keys of one queue. Every key embeds `{name}` as its Redis Cluster hash tag, so the
 * whole queue (including every consumer's processing list) lives in one slot and each Lua
 * script touches keys of one slot only.
 */
export interface QueueKeys {
  /** List of jobs waiting: producers push left, consumers take from the right. */
  readonly pending: string;
  /** Sorted set of jobs waiting for a retry; score = due time in ms (Redis clock). */
  readonly delayed: string;
  /** List of dead letters (JSON envelopes with the payload and its last error), newest left. */
  readonly dead: string;
  /** Set of consumer ids that may hold a processing list. */
  readonly consumers: string;
  /** Hash of failed-delivery counts (`<id>`) and last errors (`<id>:error`) by job id. */
  readonly attempts: string;
  /** A consumer's processing list: jobs it claimed and has not acked, newest left. */
  processing(consumerId: string): string;
  /** A consumer's heartbeat (a string with a TTL); gone means the consumer is presumed dead. */
  heartbeat(consumerId: string): string;
}

/** Queue names and consumer ids: no braces (they would move the hash tag) and no spaces. */
const NAME = /^[A-Za-z0-9_.:-]{1,200}$/;

/** The default key prefix, giving keys like `fw:{frames}:pending`. */
export const DEFAULT_KEY_PREFIX = 'fw:';

/** Builds the keys of queue `name` under `prefix`. Throws {@link QueueConfigError} on a bad name or prefix. */
export function queueKeys(name: string, prefix: string = DEFAULT_KEY_PREFIX): QueueKeys {
  assertName('queue name', name);
  // Redis hashes only the first {...} of a key: a brace in the prefix would steal the tag.
  if (/[{}]/.test(prefix)) {
    throw new QueueConfigError(`key prefix ${JSON.stringify(prefix)} must not contain { or }`);
  }
  const base = `${prefix}{${name}}`;
  return {
    pending: `${base}:pending`,
    delayed: `${base}:delayed`,
    dead: `${base}:dead`,
    consumers: `${base}:consumers`,
    attempts: `${base}:attempts`,
    processing: (consumerId) => `${base}:processing:${checkedName('consumer id', consumerId)}`,
    heartbeat: (consumerId) => `${base}:heartbeat:${checkedName('consumer id', consumerId)}`,
  };
}

/** Throws {@link QueueConfigError} unless `value` is usable as a queue name or consumer id. */
export function assertName(what: string, value: string): void {
  if (!NAME.test(value)) {
    throw new QueueConfigError(
      `${what} ${JSON.stringify(value)} must be 1-200 characters of A-Z a-z 0-9 _ . : -`,
    );
  }
}

function checkedName(what: string, value: string): string {
  assertName(what, value);
  return value;
}
