import { randomBytes } from 'node:crypto';
import type { QueueDefinition } from './definition';
import type { RedisClient } from './redis-client';
import { replyArray, replyNumber, runScript } from './scripts';

/** How many jobs are where; export as gauges (and drive autoscaling from `pending`). */
export interface QueueDepths {
  readonly pending: number;
  /** Claimed and not yet acked, summed over every registered consumer. */
  readonly processing: number;
  readonly delayed: number;
  readonly dead: number;
  readonly consumers: number;
}

/** A dead-lettered job as stored. */
export interface DeadLetter {
  /** The original payload, byte for byte. */
  readonly payload: string;
  /** '' when the payload had no readable id. */
  readonly id: string;
  readonly error: string;
  readonly deliveries: number;
  /** When it was dead-lettered (ms since epoch, Redis clock). */
  readonly failedAt: number;
  /** True when a handler threw PermanentJobError or the payload was malformed. */
  readonly permanent: boolean;
}

/** Read and repair operations for operators, dashboards and the API's cancel. */
export class QueueAdmin<T> {
  constructor(
    private readonly queue: QueueDefinition<T>,
    private readonly redis: RedisClient,
  ) {}

  /** Depth of every part of the queue (two round trips). */
  async depths(): Promise<QueueDepths> {
    const keys = this.queue.keys;
    const [pending, delayed, dead, consumers] = await Promise.all([
      this.redis.llen(keys.pending),
      this.redis.zcard(keys.delayed),
      this.redis.llen(keys.dead),
      this.redis.smembers(keys.consumers),
    ]);
    const processing = await Promise.all(
      consumers.map((id) => this.redis.llen(keys.processing(id))),
    );
    return {
      pending,
      delayed,
      dead,
      consumers: consumers.length,
      processing: processing.reduce((sum, n) => sum + n, 0),
    };
  }

  /**
   * Age in ms of the job next in line (the consume end of pending), from its enqueue time, or
   * undefined when nothing is pending. A retried or handed-back job keeps its first enqueue time.
   */
  async oldestPendingAgeMs(now: number = Date.now()): Promise<number | undefined> {
    const payload = await this.redis.lindex(this.queue.keys.pending, -1);
    if (payload === null) return undefined;
    const decoded = this.queue.decode(payload);
    return decoded.ok ? Math.max(0, now - decoded.job.enqueuedAt) : undefined;
  }

  /** Dead letters, newest first. */
  async listDead(options: { offset?: number; limit?: number } = {}): Promise<DeadLetter[]> {
    const offset = options.offset ?? 0;
    const limit = options.limit ?? 100;
    if (limit <= 0) return [];
    const entries = await this.redis.lrange(this.queue.keys.dead, offset, offset + limit - 1);
    return entries.map(parseDeadLetter);
  }

  /**
   * Moves up to `limit` dead letters, oldest first, back to the producer end of pending with a
   * fresh delivery budget. Returns how many.
   */
  async replayDead(limit = 1000): Promise<number> {
    return replyNumber(
      await runScript(
        this.redis,
        this.queue.scripts.replayDead,
        [this.queue.keys.dead, this.queue.keys.pending],
        [limit],
      ),
      'replay-dead',
    );
  }

  /** Deletes every dead letter. Returns how many there were. */
  async purgeDead(): Promise<number> {
    const results = await this.redis
      .multi()
      .llen(this.queue.keys.dead)
      .del(this.queue.keys.dead)
      .exec();
    const [llen] = results ?? [];
    if (llen?.[0]) throw llen[0];
    return typeof llen?.[1] === 'number' ? llen[1] : 0;
  }

  /**
   * Removes every pending and delayed job of `group` (for example a cancelled video). Walks the
   * pending list in windows of `windowSize` jobs, one short script call each (measured 1-3 ms per
   * 1,000 jobs scanned on a small machine), so Redis keeps serving other clients in between.
   * Jobs already claimed are not touched: their consumers finish them (idempotently).
   */
  async removePendingGroup(
    group: string,
    windowSize = 1000,
  ): Promise<{ pending: number; delayed: number }> {
    const tombstone = `\u0000tombstone:${randomBytes(8).toString('hex')}`;
    let pending = 0;
    let delayed = 0;
    let start = 0;
    for (let first = true; ; first = false) {
      const reply = replyArray(
        await runScript(
          this.redis,
          this.queue.scripts.removeGroup,
          [this.queue.keys.pending, this.queue.keys.delayed, this.queue.keys.attempts],
          [this.queue.groupNeedle(group), group, tombstone, start, windowSize, first ? '1' : '0'],
        ),
        'remove-group',
      );
      pending += replyNumber(reply[0], 'removed pending');
      delayed += replyNumber(reply[1], 'removed delayed');
      start = replyNumber(reply[2], 'next start');
      if (start >= replyNumber(reply[3], 'pending length')) return { pending, delayed };
    }
  }

  /** Registered consumer ids, each with whether its heartbeat is alive. */
  async consumers(): Promise<{ id: string; alive: boolean }[]> {
    const ids = await this.redis.smembers(this.queue.keys.consumers);
    const alive = await Promise.all(
      ids.map((id) => this.redis.exists(this.queue.keys.heartbeat(id))),
    );
    return ids.map((id, i) => ({ id, alive: alive[i] === 1 }));
  }
}

function parseDeadLetter(entry: string): DeadLetter {
  try {
    const value = JSON.parse(entry) as Partial<Record<keyof DeadLetter, unknown>>;
    return {
      payload: typeof value.payload === 'string' ? value.payload : entry,
      id: typeof value.id === 'string' ? value.id : '',
      error: typeof value.error === 'string' ? value.error : '',
      deliveries: typeof value.deliveries === 'number' ? value.deliveries : 0,
      failedAt: typeof value.failedAt === 'number' ? value.failedAt : 0,
      permanent: value.permanent === true,
    };
  } catch {
    return {
      payload: entry,
      id: '',
      error: 'unreadable dead letter',
      deliveries: 0,
      failedAt: 0,
      permanent: true,
    };
  }
}
