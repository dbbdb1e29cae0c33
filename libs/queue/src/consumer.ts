import { randomBytes } from 'node:crypto';
import os from 'node:os';
import { Redis } from 'ioredis';
import { retryDelays } from './backoff';
import type { Job, QueueDefinition } from './definition';
import { InvalidPayloadError, QueueConfigError, describeError, isPermanent } from './errors';
import { assertName } from './keys';
import { silentLogger, type QueueLogger, type RedisClient } from './redis-client';
import { replyArray, replyNumber, replyStrings, runScript } from './scripts';

/** Options of a {@link QueueConsumer}. */
export interface ConsumerOptions {
  /**
   * Identifies the consumer's processing list and heartbeat. Default: host, pid and a random
   * suffix. A stable id (a pod name) lets a restarted process recover its own list at start
   * instead of waiting for the reaper.
   */
  readonly consumerId?: string;
  /** The processing list never holds more than this many jobs (claimed, not yet acked). Default 64. */
  readonly prefetch?: number;
  /** Heartbeat lifetime: the reaper reclaims this consumer's jobs once it has expired. Default 15 s. */
  readonly heartbeatTtlMs?: number;
  /** How often the heartbeat is renewed, on its own timer. Default a third of the TTL. */
  readonly heartbeatIntervalMs?: number;
  /**
   * Makes the dedicated connection for blocking waits (BLMOVE blocks its connection). Default:
   * `redis.duplicate({ retryStrategy: () => null })`. Prefer a client that does not reconnect
   * by itself: after any drop the consumer discards it, re-syncs and makes a new one. The
   * consumer disconnects what it made.
   */
  readonly createBlockingClient?: () => RedisClient;
  readonly logger?: QueueLogger;
  /** Called for every settled delivery: wire it to metrics (counters by event type). */
  readonly onEvent?: (event: ConsumerEvent) => void;
}

/** What happened to deliveries, for metrics and logs. */
export type ConsumerEvent =
  | { readonly type: 'claimed'; readonly count: number }
  | { readonly type: 'acked'; readonly count: number }
  /** Acks that found the job gone: the reaper had reclaimed it (or an earlier ack's reply was lost). */
  | { readonly type: 'lost'; readonly count: number }
  | { readonly type: 'retried'; readonly jobId: string; readonly deliveries: number }
  | { readonly type: 'dead-lettered'; readonly jobId: string | undefined; readonly error: string }
  /** Jobs found in this consumer's processing list at start (a previous run under this id) and handed back. */
  | { readonly type: 'recovered'; readonly count: number }
  /** The heartbeat had expired when renewed: the reaper may have taken this consumer's jobs. */
  | { readonly type: 'presumed-dead' };

/** Jobs claimed, and how many malformed payloads were dead-lettered on the way. */
export interface ClaimResult<T> {
  readonly jobs: Job<T>[];
  readonly invalid: number;
}

/** Outcome of an ack. */
export interface AckResult<T> {
  readonly acked: number;
  /** Jobs that were no longer in the processing list (reclaimed meanwhile). */
  readonly lost: Job<T>[];
}

/** Outcome of {@link QueueConsumer.fail}. */
export type FailResult =
  | { readonly outcome: 'retry'; readonly deliveries: number; readonly delayMs: number }
  | { readonly outcome: 'dead'; readonly deliveries: number }
  | { readonly outcome: 'lost' };

/** Cumulative counts since the consumer was created. */
export interface ConsumerStats {
  claimed: number;
  acked: number;
  lost: number;
  retried: number;
  deadLettered: number;
  invalid: number;
  recovered: number;
  handedBack: number;
}

const MAX_PREFETCH = 5000;
/** Acks per script call: keeps unpack() in Lua well inside its stack limit. */
export const ACK_CHUNK = 1000;

/**
 * One consumer of one queue: the protocol's consumer side, one round trip per call. It owns a
 * processing list and a heartbeat. {@link QueueWorker} runs handlers on top of it; use this
 * class directly for custom loops.
 *
 * Call {@link start} first and {@link release} + {@link stop} (or let the worker do it) last.
 */
export class QueueConsumer<T> {
  readonly id: string;
  readonly prefetch: number;
  private readonly heartbeatTtlMs: number;
  private readonly heartbeatIntervalMs: number;
  private readonly logger: QueueLogger;
  private readonly processingKey: string;
  private readonly heartbeatKey: string;
  private readonly counts: ConsumerStats = {
    claimed: 0,
    acked: 0,
    lost: 0,
    retried: 0,
    deadLettered: 0,
    invalid: 0,
    recovered: 0,
    handedBack: 0,
  };
  private heartbeatTimer: NodeJS.Timeout | undefined;
  private beats = 0;
  private blocking: RedisClient | undefined;
  private abortWait: ((error: Error) => void) | undefined;
  private readonly resyncListeners = new Set<() => void>();
  private readonly onReady = () => {
    this.requestResync('connection re-established');
  };

  constructor(
    private readonly queue: QueueDefinition<T>,
    private readonly redis: RedisClient,
    private readonly options: ConsumerOptions = {},
  ) {
    this.id = options.consumerId ?? defaultConsumerId();
    assertName('consumer id', this.id);
    this.prefetch = options.prefetch ?? 64;
    if (!Number.isInteger(this.prefetch) || this.prefetch < 1 || this.prefetch > MAX_PREFETCH) {
      throw new QueueConfigError(`prefetch must be an integer in 1..${MAX_PREFETCH}`);
    }
    this.heartbeatTtlMs = options.heartbeatTtlMs ?? 15_000;
    this.heartbeatIntervalMs =
      options.heartbeatIntervalMs ?? Math.max(1, Math.floor(this.heartbeatTtlMs / 3));
    if (this.heartbeatIntervalMs >= this.heartbeatTtlMs) {
      throw new QueueConfigError('heartbeatIntervalMs must be shorter than heartbeatTtlMs');
    }
    this.logger = options.logger ?? silentLogger;
    this.processingKey = queue.keys.processing(this.id);
    this.heartbeatKey = queue.keys.heartbeat(this.id);
  }

  /** A snapshot of the cumulative counts. */
  stats(): ConsumerStats {
    return { ...this.counts };
  }

  /**
   * Re-scans this consumer's processing list: whatever a previous run under the same id left
   * there goes back to pending, counting a delivery per job (a job that kills the process
   * every time still reaches the dead-letter list). Then registers and starts the heartbeat.
   */
  async start(): Promise<{ recovered: number; deadLettered: number }> {
    const [recovered, deadLettered] = await this.returnProcessing(
      'recover',
      `consumer ${this.id} restarted while holding the job`,
    );
    this.counts.recovered += recovered;
    this.counts.deadLettered += deadLettered;
    if (recovered > 0) this.emit({ type: 'recovered', count: recovered });
    await this.heartbeat();
    this.heartbeatTimer = setInterval(() => {
      this.heartbeat().catch((error: unknown) => {
        this.logger.warn(
          { consumer: this.id, err: describeError(error) },
          'queue heartbeat failed; the reaper reclaims this consumer if it keeps failing',
        );
      });
    }, this.heartbeatIntervalMs);
    // The timer must not keep a process alive on its own; open connections and work do.
    this.heartbeatTimer.unref();
    this.redis.on('ready', this.onReady);
    return { recovered, deadLettered };
  }

  /**
   * Renews the heartbeat (`SET … PX`) and the registration, atomically. Runs on its own timer;
   * exposed for tests. If the key had already expired, listeners are told to re-sync: the
   * reaper may have taken this consumer's jobs meanwhile.
   */
  async heartbeat(): Promise<void> {
    const results = await this.redis
      .multi()
      .set(this.heartbeatKey, String(Date.now()), 'PX', this.heartbeatTtlMs, 'GET')
      .sadd(this.queue.keys.consumers, this.id)
      .exec();
    const [setResult] = results ?? [];
    if (setResult?.[0]) throw setResult[0];
    const expired = setResult?.[1] === null;
    if (this.beats > 0 && expired) {
      this.emit({ type: 'presumed-dead' });
      this.requestResync('heartbeat had expired');
    }
    this.beats++;
  }

  /** Registers a listener called when the local view of the processing list may be stale. */
  onResync(listener: () => void): () => void {
    this.resyncListeners.add(listener);
    return () => this.resyncListeners.delete(listener);
  }

  /** Claims up to `max` jobs (bounded by the prefetch) in one Lua call. Never blocks. */
  async claim(max: number): Promise<ClaimResult<T>> {
    return (await this.ackAndClaim([], max)).claimed;
  }

  /** Acknowledges jobs in one round trip (per 1,000), reporting those reclaimed meanwhile. */
  async ack(jobs: readonly Job<T>[]): Promise<AckResult<T>> {
    return (await this.ackAndClaim(jobs, 0)).ack;
  }

  /**
   * Acknowledges `jobs` and claims up to `max` new ones in one atomic script call: the steady
   * state of a busy consumer costs one round trip per batch.
   */
  async ackAndClaim(
    jobs: readonly Job<T>[],
    max: number,
  ): Promise<{ ack: AckResult<T>; claimed: ClaimResult<T> }> {
    const lost: Job<T>[] = [];
    let acked = 0;
    let claimedPayloads: string[] = [];
    let offset = 0;
    do {
      const chunk = jobs.slice(offset, offset + ACK_CHUNK);
      offset += chunk.length;
      const last = offset >= jobs.length;
      const claimNow = last ? Math.max(0, Math.min(max, this.prefetch)) : 0;
      const reply = replyArray(
        await runScript(
          this.redis,
          this.queue.scripts.ackAndClaim,
          [
            this.queue.keys.pending,
            this.processingKey,
            this.queue.keys.consumers,
            this.queue.keys.attempts,
          ],
          [
            this.id,
            chunk.length,
            ...chunk.map((job) => job.payload),
            ...chunk.map((job) => job.id),
            claimNow,
            this.prefetch,
          ],
        ),
        'ack-and-claim',
      );
      const ackFlags = replyArray(reply[0], 'ack-and-claim acks');
      chunk.forEach((job, i) => {
        if (ackFlags[i] === 1) acked++;
        else lost.push(job);
      });
      if (last) claimedPayloads = replyStrings(reply[1], 'ack-and-claim claims');
    } while (offset < jobs.length);

    this.count('acked', acked);
    this.count('lost', lost.length);
    const claimed = await this.accept(claimedPayloads);
    return { ack: { acked, lost }, claimed };
  }

  /**
   * Waits up to `timeoutMs` for one job with BLMOVE on the dedicated blocking connection and
   * returns as soon as one arrives. Use it only when {@link claim} came back empty.
   *
   * Rejects when the connection drops or {@link interruptWait} is called. ioredis may keep a
   * blocking command pending across a reconnect (or, in some versions, never settle it), so
   * the wait is settled here rather than trusting the command's promise; a reply that still
   * arrives later is a job in the processing list, and triggers a re-sync that adopts it.
   */
  waitForJob(timeoutMs: number): Promise<ClaimResult<T>> {
    const client = this.blockingClient();
    return new Promise<ClaimResult<T>>((resolve, reject) => {
      let settled = false;
      const watchdog = setTimeout(() => {
        // The server answers within the timeout: a silent connection is a dead one.
        abort(new Error('blocking wait overran its timeout'));
        if (this.blocking === client) this.dropBlockingClient();
      }, timeoutMs + 5000);
      const abort = (error: Error) => {
        if (settled) return;
        settled = true;
        clearTimeout(watchdog);
        this.abortWait = undefined;
        reject(error);
      };
      this.abortWait = abort;
      client
        .blmove(
          this.queue.keys.pending,
          this.processingKey,
          'RIGHT',
          'LEFT',
          Math.max(timeoutMs, 1) / 1000,
        )
        .then(
          (payload) => {
            if (settled) {
              if (payload !== null) this.requestResync('late reply to an abandoned blocking wait');
              return;
            }
            settled = true;
            clearTimeout(watchdog);
            this.abortWait = undefined;
            this.accept(payload === null ? [] : [payload]).then(resolve, reject);
          },
          (error: unknown) => {
            abort(error instanceof Error ? error : new Error(String(error)));
          },
        );
    });
  }

  /**
   * Ends a {@link waitForJob} at once (it rejects) and drops the blocking connection. A job
   * the server moved just before is in the processing list, where a re-sync or release finds it.
   */
  interruptWait(): void {
    this.dropBlockingClient();
  }

  /**
   * Settles a failed delivery: a {@link PermanentJobError} (or a malformed payload) goes to the
   * dead-letter list at once; anything else is retried after a capped exponential backoff
   * with jitter, or dead-lettered once the job has had `maxDeliveries` deliveries.
   */
  async fail(
    job: Pick<Job<T>, 'payload'> & { readonly id: string | undefined },
    error: unknown,
  ): Promise<FailResult> {
    const text = describeError(error);
    const reply = replyArray(
      await runScript(
        this.redis,
        this.queue.scripts.retryOrDeadLetter,
        [
          this.processingKey,
          this.queue.keys.attempts,
          this.queue.keys.delayed,
          this.queue.keys.dead,
        ],
        [
          job.payload,
          job.id ?? '',
          text,
          isPermanent(error) ? '1' : '0',
          this.queue.maxDeliveries,
          ...retryDelays(this.queue.maxDeliveries, this.queue.retry),
        ],
      ),
      'retry-or-dead-letter',
    );
    const outcome = reply[0];
    const deliveries = replyNumber(reply[1], 'retry-or-dead-letter deliveries');
    if (outcome === 'lost') {
      this.count('lost', 1);
      return { outcome: 'lost' };
    }
    if (outcome === 'dead') {
      this.counts.deadLettered++;
      this.emit({ type: 'dead-lettered', jobId: job.id, error: text });
      return { outcome: 'dead', deliveries };
    }
    this.counts.retried++;
    this.emit({ type: 'retried', jobId: job.id ?? '', deliveries });
    return { outcome: 'retry', deliveries, delayMs: replyNumber(reply[2], 'retry delay') };
  }

  /** This consumer's processing list, oldest job first (for re-syncing after a reconnect). */
  async processingPayloads(): Promise<string[]> {
    return (await this.redis.lrange(this.processingKey, 0, -1)).reverse();
  }

  /**
   * Decodes payloads that are in this consumer's processing list; malformed ones are
   * dead-lettered on the spot, so a bad producer never crashes or stalls a consumer.
   */
  async accept(payloads: readonly string[]): Promise<ClaimResult<T>> {
    const jobs: Job<T>[] = [];
    let invalid = 0;
    for (const payload of payloads) {
      const decoded = this.queue.decode(payload);
      if (decoded.ok) {
        jobs.push(decoded.job);
        continue;
      }
      invalid++;
      this.counts.invalid++;
      this.logger.warn(
        { consumer: this.id, jobId: decoded.jobId, err: decoded.error },
        'malformed queue payload: dead-lettered',
      );
      await this.fail(
        { payload, id: decoded.jobId },
        new InvalidPayloadError(decoded.error, decoded.jobId),
      );
    }
    this.count('claimed', jobs.length);
    return { jobs, invalid };
  }

  /**
   * Graceful hand-back: every job still in the processing list returns to the consume end of
   * pending (no delivery counted), the heartbeat is deleted and the consumer deregistered.
   */
  async release(): Promise<number> {
    const [returned] = await this.returnProcessing('release', `consumer ${this.id} released`);
    this.counts.handedBack += returned;
    return returned;
  }

  /** Stops the heartbeat and closes the blocking connection. The injected client stays open. */
  stop(): void {
    if (this.heartbeatTimer) clearInterval(this.heartbeatTimer);
    this.heartbeatTimer = undefined;
    this.redis.off('ready', this.onReady);
    this.interruptWait();
  }

  private async returnProcessing(
    mode: 'recover' | 'release',
    error: string,
  ): Promise<[number, number]> {
    const reply = replyArray(
      await runScript(
        this.redis,
        this.queue.scripts.returnProcessing,
        [
          this.heartbeatKey,
          this.processingKey,
          this.queue.keys.consumers,
          this.queue.keys.pending,
          this.queue.keys.attempts,
          this.queue.keys.dead,
        ],
        [this.id, mode, this.queue.maxDeliveries, error],
      ),
      'return-processing',
    );
    return [replyNumber(reply[0], 'returned'), replyNumber(reply[1], 'dead-lettered')];
  }

  private dropBlockingClient(): void {
    const client = this.blocking;
    this.blocking = undefined;
    this.abortWait?.(new Error('blocking connection closed'));
    // Decided after ioredis has handled the close: a client without a retry strategy has
    // ended by then, and disconnect() on an ended client arms a stray 2 s timer.
    if (client) {
      setImmediate(() => {
        if (client.status !== 'end') client.disconnect();
      });
    }
  }

  private blockingClient(): RedisClient {
    if (this.blocking) return this.blocking;
    const client = this.options.createBlockingClient?.() ?? this.duplicateForBlocking();
    client.on('error', (error: unknown) => {
      this.logger.warn(
        { consumer: this.id, err: describeError(error) },
        'queue blocking connection error',
      );
    });
    // A BLMOVE whose reply was lost (connection dropped after the server moved the job)
    // leaves a job in the processing list that no one knows about: re-sync finds it.
    client.on('close', () => {
      if (this.blocking === client) {
        this.dropBlockingClient();
        this.requestResync('blocking connection closed');
      }
    });
    this.blocking = client;
    return client;
  }

  /**
   * A copy of the main client that never reconnects by itself: after a drop this consumer
   * re-syncs and makes a fresh one, whereas ioredis would resend (or strand) the BLMOVE.
   */
  private duplicateForBlocking(): RedisClient {
    if (this.redis instanceof Redis) return this.redis.duplicate({ retryStrategy: () => null });
    return this.redis.duplicate();
  }

  private requestResync(reason: string): void {
    if (this.heartbeatTimer === undefined) return; // not started, or stopped
    this.logger.warn(
      { consumer: this.id, reason },
      'queue consumer re-syncing its processing list',
    );
    for (const listener of this.resyncListeners) listener();
  }

  private count(type: 'claimed' | 'acked' | 'lost', n: number): void {
    if (n === 0) return;
    this.counts[type] += n;
    this.emit({ type, count: n });
  }

  private emit(event: ConsumerEvent): void {
    this.options.onEvent?.(event);
  }
}

/**
 * The consumer id a {@link QueueConsumer} makes when given none: `<host>-<pid>-<6 hex>`. A
 * process that names its Redis connections after its consumer (CLIENT SETNAME) makes the id
 * first with this, then passes it as `consumerId`.
 */
export function defaultConsumerId(): string {
  const host =
    os
      .hostname()
      .replace(/[^A-Za-z0-9_.-]/g, '-')
      .slice(0, 100) || 'host';
  return `${host}-${process.pid}-${randomBytes(3).toString('hex')}`;
}
