import type { QueueDefinition } from './definition';
import { describeError } from './errors';
import { silentLogger, type QueueLogger, type RedisClient } from './redis-client';
import { replyArray, replyNumber, runScript } from './scripts';

/** What one reaper pass did; add the numbers to counters. */
export interface ReapReport {
  /** Consumers whose heartbeat had expired, deregistered. */
  readonly consumersReaped: number;
  /** Jobs returned from their processing lists to the consume end of pending. */
  readonly reclaimed: number;
  /** Jobs that had used up their deliveries and went to the dead-letter list instead. */
  readonly deadLettered: number;
  /** Delayed jobs (retries) whose time had come, moved to pending. */
  readonly promoted: number;
}

/** Options of a {@link QueueReaper}. */
export interface ReaperOptions {
  /** Interval of {@link QueueReaper.start}. Default 1 s. */
  readonly intervalMs?: number;
  /** Delayed jobs promoted per script call (a pass loops until none are due). Default 1,000. */
  readonly promoteBatch?: number;
  readonly logger?: QueueLogger;
  /** Called after every pass started by {@link QueueReaper.start}. */
  readonly onPass?: (report: ReapReport) => void;
}

/**
 * Returns the jobs of dead consumers to the queue and promotes due retries. Safe to run in
 * several processes at once: each consumer is reaped by one atomic script, so a second reaper
 * finds its list already empty, and promotion removes each job from the delayed set in the
 * same script that pushes it.
 */
export class QueueReaper<T> {
  private timer: NodeJS.Timeout | undefined;
  private pass: Promise<unknown> | undefined;
  private readonly logger: QueueLogger;

  constructor(
    private readonly queue: QueueDefinition<T>,
    private readonly redis: RedisClient,
    private readonly options: ReaperOptions = {},
  ) {
    this.logger = options.logger ?? silentLogger;
  }

  /** One pass: promote due retries, then reap every registered consumer whose heartbeat is gone. */
  async runOnce(): Promise<ReapReport> {
    const promoted = await this.promoteDue();
    let consumersReaped = 0;
    let reclaimed = 0;
    let deadLettered = 0;
    const consumers = await this.redis.smembers(this.queue.keys.consumers);
    // Concurrent calls: ioredis writes them back to back, so a pass costs one round trip.
    const replies = await Promise.all(consumers.map((id) => this.reap(id)));
    for (const reply of replies) {
      if (reply === undefined) continue;
      consumersReaped += reply.deregistered;
      reclaimed += reply.reclaimed;
      deadLettered += reply.deadLettered;
    }
    return { consumersReaped, reclaimed, deadLettered, promoted };
  }

  /** Moves every delayed job that is due to the consume end of pending. Returns how many. */
  async promoteDue(): Promise<number> {
    const batch = this.options.promoteBatch ?? 1000;
    let total = 0;
    for (;;) {
      const moved = replyNumber(
        await runScript(
          this.redis,
          this.queue.scripts.promoteDue,
          [this.queue.keys.delayed, this.queue.keys.pending],
          [batch],
        ),
        'promote-due',
      );
      total += moved;
      if (moved < batch) return total;
    }
  }

  /** Reaps one consumer if its heartbeat has expired; undefined when it is alive. */
  private async reap(
    consumerId: string,
  ): Promise<{ reclaimed: number; deadLettered: number; deregistered: number } | undefined> {
    const keys = this.queue.keys;
    const reply = replyArray(
      await runScript(
        this.redis,
        this.queue.scripts.returnProcessing,
        [
          keys.heartbeat(consumerId),
          keys.processing(consumerId),
          keys.consumers,
          keys.pending,
          keys.attempts,
          keys.dead,
        ],
        [
          consumerId,
          'reap',
          this.queue.maxDeliveries,
          `consumer ${consumerId} stopped heartbeating while holding the job`,
        ],
      ),
      'return-processing',
    );
    const reclaimed = replyNumber(reply[0], 'reclaimed');
    if (reclaimed < 0) return undefined;
    return {
      reclaimed,
      deadLettered: replyNumber(reply[1], 'dead-lettered'),
      deregistered: replyNumber(reply[2], 'deregistered'),
    };
  }

  /** Runs {@link runOnce} every `intervalMs` (never two passes of this reaper at once). */
  start(): void {
    if (this.timer) return;
    const tick = () => {
      this.pass = this.runOnce()
        .then((report) => this.options.onPass?.(report))
        .catch((error: unknown) => {
          this.logger.warn(
            { queue: this.queue.name, err: describeError(error) },
            'reaper pass failed',
          );
        })
        .finally(() => {
          if (this.timer) this.timer = setTimeout(tick, this.options.intervalMs ?? 1000);
        });
    };
    this.timer = setTimeout(tick, 0);
  }

  /** Stops the timer and waits for a pass in progress. */
  async stop(): Promise<void> {
    const timer = this.timer;
    this.timer = undefined;
    clearTimeout(timer);
    await this.pass;
  }
}
