import type { QueueConsumer } from './consumer';
import type { Job } from './definition';
import { CloseDeadlineError, QueueConfigError, describeError } from './errors';
import { silentLogger, type QueueLogger } from './redis-client';

/**
 * Processes one job. Return (or resolve) after the result is committed (the job is acked afterwards);
 * throw {@link PermanentJobError} to dead-letter it, anything else to retry it later.
 * Delivery is at-least-once: the same job can run again after a crash, so commit idempotently.
 */
export type JobHandler<T> = (job: Job<T>) => Promise<void> | void;

/** Options of a {@link QueueWorker}. */
export interface WorkerOptions {
  /** Handlers running at once in this process. Default 1. At most the consumer's prefetch. */
  readonly concurrency?: number;
  /** Longest single BLMOVE wait when the queue is empty. Default 5 s. */
  readonly blockTimeoutMs?: number;
  readonly logger?: QueueLogger;
}

/** What {@link QueueWorker.close} did. */
export interface CloseReport {
  /** Handlers still running at the deadline: their jobs were failed as retryable. */
  readonly abandoned: number;
  /** Jobs claimed but never started, handed back to the consume end of pending. */
  readonly handedBack: number;
}

/**
 * Runs a handler over a queue with bounded concurrency on top of one {@link QueueConsumer}.
 *
 * One control loop talks to Redis, one round trip at a time: it sends every ack collected
 * since its last call together with a claim for the free prefetch room (one script call), so
 * under load acks and claims batch themselves without timers. Claimed jobs wait in a local
 * buffer (they are in the processing list, so a crash loses none of them); up to
 * `concurrency` handlers run at once. When a claim comes back empty the loop blocks with
 * BLMOVE on a separate connection, so a new job starts within a round trip of its arrival.
 */
export class QueueWorker<T> {
  private readonly concurrency: number;
  private readonly blockTimeoutMs: number;
  private readonly logger: QueueLogger;
  private readonly lowWater: number;
  /** Claimed, not started; oldest first. */
  private buffer: Job<T>[] = [];
  private readonly running = new Set<Job<T>>();
  private toAck: Job<T>[] = [];
  private toFail: { job: Job<T>; error: unknown }[] = [];
  /** Payloads this process holds in any state: de-duplicates re-syncs and late BLMOVE replies. */
  private readonly held = new Set<string>();
  private waiting = false;
  private resyncNeeded = false;
  private stopping = false;
  private abandoning = false;
  private woken = false;
  private wakeLoop: (() => void) | undefined;
  private drained: (() => void)[] = [];
  private loop: Promise<void> | undefined;
  private closing: Promise<CloseReport> | undefined;
  private unsubscribe: (() => void) | undefined;

  constructor(
    private readonly consumer: QueueConsumer<T>,
    private readonly handler: JobHandler<T>,
    options: WorkerOptions = {},
  ) {
    this.concurrency = options.concurrency ?? 1;
    if (!Number.isInteger(this.concurrency) || this.concurrency < 1) {
      throw new QueueConfigError('concurrency must be a positive integer');
    }
    if (this.concurrency > consumer.prefetch) {
      throw new QueueConfigError(
        `concurrency ${this.concurrency} exceeds the consumer's prefetch ${consumer.prefetch}`,
      );
    }
    this.blockTimeoutMs = options.blockTimeoutMs ?? 5000;
    this.logger = options.logger ?? silentLogger;
    // Refill once fewer jobs are buffered than half the prefetch (at least a full round of
    // handlers): claims stay large while handlers never wait on a round trip.
    this.lowWater = Math.max(this.concurrency, Math.ceil(consumer.prefetch / 2));
  }

  /** Starts the consumer (re-scan, heartbeat) and the loop. */
  async start(): Promise<void> {
    if (this.loop) throw new QueueConfigError('worker already started');
    await this.consumer.start();
    this.unsubscribe = this.consumer.onResync(() => {
      this.resyncNeeded = true;
      this.wake();
    });
    this.loop = this.run();
  }

  /**
   * Graceful close: stops claiming, lets running handlers finish until `deadlineMs`, fails
   * the ones still running as retryable, hands every unstarted job back to the consume end of
   * pending, deregisters and stops the heartbeat. Idempotent.
   */
  close(options: { deadlineMs?: number } = {}): Promise<CloseReport> {
    this.closing ??= this.shutdown(options.deadlineMs ?? 30_000);
    return this.closing;
  }

  private async shutdown(deadlineMs: number): Promise<CloseReport> {
    this.stopping = true;
    this.consumer.interruptWait();
    this.wake();
    if (this.running.size > 0) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        new Promise<void>((resolve) => this.drained.push(resolve)),
        new Promise<void>((resolve) => (timer = setTimeout(resolve, deadlineMs))),
      ]);
      clearTimeout(timer);
    }
    this.abandoning = true;
    this.wake();
    await this.loop;
    // Handlers that finished after the loop's last round trip still get their ack.
    const late = this.toAck.splice(0);
    if (late.length > 0) await this.guard('ack late jobs', () => this.consumer.ack(late));
    const abandoned = [...this.running];
    for (const job of abandoned) {
      await this.guard('fail an abandoned job', () =>
        this.consumer.fail(
          job,
          new CloseDeadlineError(`worker closed before job ${job.id} finished`),
        ),
      );
    }
    const handedBack = (await this.guard('hand back jobs', () => this.consumer.release())) ?? 0;
    this.unsubscribe?.();
    this.consumer.stop();
    return { abandoned: abandoned.length, handedBack };
  }

  private async run(): Promise<void> {
    let failures = 0;
    for (;;) {
      const done = this.stopping && this.toAck.length === 0 && this.toFail.length === 0;
      if (done && (this.running.size === 0 || this.abandoning)) return;
      try {
        if (this.resyncNeeded && !this.stopping) await this.resync();
        while (this.toFail.length > 0) {
          const failed = this.toFail[0];
          if (failed) await this.consumer.fail(failed.job, failed.error);
          this.toFail.shift();
          if (failed) this.held.delete(failed.job.payload);
        }
        const acks = this.toAck.splice(0);
        const want = this.wantToClaim();
        if (acks.length === 0 && want === 0) {
          await this.sleep();
          continue;
        }
        let claimedNothing = false;
        try {
          const { ack, claimed } = await this.consumer.ackAndClaim(acks, want);
          for (const job of acks) this.held.delete(job.payload);
          if (ack.lost.length > 0) {
            this.logger.warn(
              { consumer: this.consumer.id, lost: ack.lost.map((j) => j.id) },
              'acked jobs had been reclaimed meanwhile (they may run twice; sinks are idempotent)',
            );
          }
          this.take(claimed.jobs);
          claimedNothing = want > 0 && claimed.jobs.length === 0;
        } catch (error) {
          this.toAck = acks.concat(this.toAck);
          throw error;
        }
        failures = 0;
        if (claimedNothing && !this.stopping) this.startWaiting();
        if (claimedNothing) await this.sleep();
      } catch (error) {
        // Redis unreachable or restarting: ioredis reconnects; back off, then re-sync, since
        // replies lost with the connection may have moved jobs we do not know about.
        failures++;
        this.resyncNeeded = true;
        this.logger.warn(
          { consumer: this.consumer.id, err: describeError(error), failures },
          'queue worker round trip failed; retrying',
        );
        await delay(Math.min(2000, 50 * 2 ** Math.min(failures, 6)));
      }
    }
  }

  /** How many jobs to claim now: the free prefetch room, once the buffer runs low. */
  private wantToClaim(): number {
    if (this.stopping || this.waiting || this.buffer.length >= this.lowWater) return 0;
    const holding = this.buffer.length + this.running.size + this.toAck.length + this.toFail.length;
    return Math.max(0, this.consumer.prefetch - holding);
  }

  /** BLMOVE in the background; the loop keeps acking finished jobs meanwhile. */
  private startWaiting(): void {
    if (this.waiting) return;
    this.waiting = true;
    this.consumer.waitForJob(this.blockTimeoutMs).then(
      (claimed) => {
        this.waiting = false;
        this.take(claimed.jobs);
        this.wake();
      },
      (error: unknown) => {
        this.waiting = false;
        if (!this.stopping) {
          this.logger.warn(
            { consumer: this.consumer.id, err: describeError(error) },
            'queue blocking wait failed; re-syncing',
          );
          this.resyncNeeded = true;
        }
        this.wake();
      },
    );
  }

  /**
   * Re-reads this consumer's processing list after a reconnect or an expired heartbeat: jobs
   * the server moved while their reply was lost are adopted; buffered jobs that are no longer
   * there (the reaper took them) are dropped, since another consumer owns them now.
   */
  private async resync(): Promise<void> {
    this.resyncNeeded = false;
    const payloads = await this.consumer.processingPayloads();
    const present = new Set(payloads);
    const kept = this.buffer.filter((job) => present.has(job.payload));
    for (const job of this.buffer) if (!present.has(job.payload)) this.held.delete(job.payload);
    this.buffer = kept;
    const unknown = payloads.filter((payload) => !this.held.has(payload));
    const adopted = await this.consumer.accept(unknown);
    this.take(adopted.jobs);
  }

  private take(jobs: readonly Job<T>[]): void {
    for (const job of jobs) {
      if (this.held.has(job.payload)) continue;
      this.held.add(job.payload);
      this.buffer.push(job);
    }
    this.dispatch();
  }

  private dispatch(): void {
    while (!this.stopping && this.running.size < this.concurrency) {
      const job = this.buffer.shift();
      if (!job) return;
      this.running.add(job);
      void this.execute(job);
    }
  }

  private async execute(job: Job<T>): Promise<void> {
    try {
      await this.handler(job);
      this.toAck.push(job);
    } catch (error) {
      this.toFail.push({ job, error });
    }
    this.running.delete(job);
    if (this.running.size === 0) for (const resolve of this.drained.splice(0)) resolve();
    this.dispatch();
    this.wake();
  }

  private wake(): void {
    this.woken = true;
    const wakeLoop = this.wakeLoop;
    this.wakeLoop = undefined;
    wakeLoop?.();
  }

  private async sleep(): Promise<void> {
    if (!this.woken) await new Promise<void>((resolve) => (this.wakeLoop = resolve));
    this.woken = false;
  }

  private async guard<R>(what: string, fn: () => Promise<R>): Promise<R | undefined> {
    try {
      return await fn();
    } catch (error) {
      this.logger.error(
        { consumer: this.consumer.id, err: describeError(error) },
        `could not ${what}`,
      );
      return undefined;
    }
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
