import { randomUUID } from 'node:crypto';
import type { QueueKeys, RedisClient } from '@framewise/queue';

/** The job ids one queue holds, read list by list in bounded chunks. */
export interface QueueSnapshot {
  /** Ids in pending, every registered consumer's processing list, and delayed. */
  readonly live: Set<string>;
  /** Dead-lettered ids with their last error. */
  readonly dead: Map<string, string>;
}

/**
 * Reads every job id of a queue (LRANGE / ZRANGE in chunks of `chunk`, never blocking Redis).
 * Not atomic across lists: a job moving between two lists while they are read can be missed,
 * so callers must tolerate enqueueing a job that exists (jobs and their sinks are idempotent).
 */
export async function snapshotQueue(
  redis: RedisClient,
  keys: QueueKeys,
  chunk: number,
): Promise<QueueSnapshot> {
  const live = new Set<string>();
  const dead = new Map<string, string>();
  const consumers = await redis.smembers(keys.consumers);
  for (const list of [keys.pending, ...consumers.map((c) => keys.processing(c))]) {
    await scanList(redis, list, chunk, (payload) => {
      const id = jobIdOf(payload);
      if (id !== undefined) live.add(id);
    });
  }
  for (let start = 0; ; start += chunk) {
    const members = await redis.zrange(keys.delayed, start, start + chunk - 1);
    for (const payload of members) {
      const id = jobIdOf(payload);
      if (id !== undefined) live.add(id);
    }
    if (members.length < chunk) break;
  }
  await scanList(redis, keys.dead, chunk, (entry) => {
    const entryOf = deadErrorOf(entry);
    if (entryOf !== undefined) dead.set(entryOf.id, entryOf.error);
  });
  return { live, dead };
}

const RELEASE_LOCK = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`;

/**
 * Runs `fn` under a Redis lock (SET NX PX, released by its owner only), or returns undefined
 * at once when another holder has it. The TTL must be longer than `fn` can take.
 */
export async function withLock<R>(
  redis: RedisClient,
  key: string,
  ttlMs: number,
  fn: () => Promise<R>,
): Promise<R | undefined> {
  const token = randomUUID();
  if ((await redis.set(key, token, 'PX', ttlMs, 'NX')) !== 'OK') return undefined;
  try {
    return await fn();
  } finally {
    await redis.eval(RELEASE_LOCK, 1, key, token);
  }
}

async function scanList(
  redis: RedisClient,
  key: string,
  chunk: number,
  each: (entry: string) => void,
): Promise<void> {
  for (let start = 0; ; start += chunk) {
    const entries = await redis.lrange(key, start, start + chunk - 1);
    entries.forEach(each);
    if (entries.length < chunk) return;
  }
}

function parseJson(text: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

/** The job id of a queue payload (`{"id", "group", "at", "data"}`), without validating the rest. */
export function jobIdOf(payload: string): string | undefined {
  const id = parseJson(payload)?.id;
  return typeof id === 'string' ? id : undefined;
}

/** The job id and last error of a dead-letter entry, without validating the rest. */
export function deadErrorOf(entry: string): { id: string; error: string } | undefined {
  const parsed = parseJson(entry);
  if (typeof parsed?.id !== 'string') return undefined;
  return {
    id: parsed.id,
    error: typeof parsed.error === 'string' ? parsed.error : 'dead-lettered',
  };
}
