import { setTimeout as sleep } from 'node:timers/promises';
import type { FrameJob, VideoStatus } from '@framewise/contracts';
import { VIDEO_STATUSES, isFinalStatus } from '@framewise/contracts';
import type { FrameFailure, FrameResult, ResultRepository, VideoRepository } from '@framewise/db';
import type { Detection, Detector, DetectorStats } from '@framewise/detector';
import { DetectorHungError, ImageInputError } from '@framewise/detector';
import type { Logger } from '@framewise/observability';
import type { Job, QueueConsumer } from '@framewise/queue';
import { PermanentJobError } from '@framewise/queue';
import type { FrameReader } from '../frames/frame-reader';
import type { WorkerErrorKind, WorkerMetrics } from '../metrics/worker-metrics';
import { backoffMs, isTransientDatabaseError, isTransientStorageError } from '../retry/transient';
import { RecentStatuses } from './recent-statuses';

/** What the worker needs to know about videos: their status, for the batch's distinct videos. */
export type VideoStatusSource = Pick<VideoRepository, 'statuses'>;
/** Where results and permanent failures go (idempotent on (video, frame, model)). */
export type ResultSink = Pick<ResultRepository, 'insertResultsWhile' | 'recordFailures'>;

/** The statuses in which a video still takes results (not final). */
const LIVE_STATUSES = VIDEO_STATUSES.filter((status) => !isFinalStatus(status));

/** Tunables of a {@link DetectionWorker}. */
export interface DetectionWorkerOptions {
  /** Frame jobs per claim, per results statement and per ack. */
  readonly batchSize: number;
  /** Written into each result and failure row (the consumer id). */
  readonly workerId: string;
  /** Longest single blocking wait for a job when the queue is empty. Default 5 s. */
  readonly blockTimeoutMs?: number;
  /** Backoff for outages (Postgres, storage, Redis). Default 100 ms doubling to 5 s. */
  readonly retry?: { readonly baseMs: number; readonly maxMs: number };
  /**
   * Detector failures in a row (no frame detected in between) after which the worker gives
   * up: it stops claiming and calls `onFatal`, so the process can exit and be restarted
   * (a lost GPU, a closed session). Each failure first fails the jobs in hand as retryable,
   * counting a delivery, so input that breaks the detector is still dead-lettered. Default 3.
   */
  readonly maxDetectorFailures?: number;
  /** Called once when the worker gave up (see `maxDetectorFailures`). */
  readonly onFatal?: (error: unknown) => void;
  /**
   * How long a video's live status, as last read, spares the check before reading a batch a
   * Postgres round trip (see RecentStatuses; the write re-checks under its lock). Default
   * 1000 ms: a cancel costs at most that much more detection.
   */
  readonly statusTtlMs?: number;
}

/** Outcome of {@link DetectionWorker.close}. */
export interface WorkerCloseReport {
  /** Whether every claimed job was settled before the deadline. */
  readonly drained: boolean;
  /** Jobs handed back to pending (no delivery counted) because the deadline came first. */
  readonly handedBack: number;
}

/** How one job of a batch ended, decided before the batch is written. */
type Settlement =
  | { readonly kind: 'detected'; readonly detections: Detection[] }
  | { readonly kind: 'missing'; readonly error: Error }
  | { readonly kind: 'corrupt'; readonly error: Error }
  | { readonly kind: 'drop' };

/** One claimed batch: its jobs and, as they arrive, how each ended. */
class ClaimedBatch {
  readonly settled = new Map<Job<FrameJob>, Settlement>();
  readonly claimedAt = performance.now();
  constructor(readonly jobs: readonly Job<FrameJob>[]) {}

  settle(job: Job<FrameJob>, settlement: Settlement): void {
    this.settled.set(job, settlement);
  }

  get done(): boolean {
    return this.settled.size === this.jobs.length;
  }
}

/** An item of the detector's stream: the frame, and the job and batch it belongs to. */
interface FrameItem {
  readonly image: Buffer;
  /** The video's size when the frame was stored smaller: results are in its pixels. */
  readonly sourceSize?: FrameJob['sourceSize'];
  readonly job: Job<FrameJob>;
  readonly batch: ClaimedBatch;
}

/** Thrown inside a retry loop when the worker is shutting down and must stop waiting. */
class StopWaiting extends Error {
  override name = 'StopWaiting';
}

/** A detector that can report cumulative timings (OnnxYoloDetector does). */
interface TimedDetector {
  stats?(): DetectorStats;
}

/**
 * The detection loop: claim a batch of frame jobs → drop those of canceled videos → read the
 * frames → detect (the detector's `detectMany` decodes and resizes the next frames while the
 * current batch runs) → write the batch's results in one statement and its permanent failures
 * in another → ack. Acks happen only after the commit, so a crash at any point leaves the jobs
 * in this consumer's processing list for the reaper; the results table's key makes the rerun
 * write nothing twice.
 *
 * Writes overlap detection: a finished batch is written while the next one is inferred, with
 * at most two writes outstanding (then detection waits: backpressure during an outage).
 */
export class DetectionWorker {
  private stopping = false;
  private abandoned = false;
  private running: Promise<void> | undefined;
  private writes: Promise<void> = Promise.resolve();
  private writesOutstanding = 0;
  private resyncRequested = false;
  private readonly inFlight = new Set<ClaimedBatch>();
  private readonly blockTimeoutMs: number;
  private readonly retryPolicy: { readonly baseMs: number; readonly maxMs: number };
  private lastStats: DetectorStats | undefined;
  private unsubscribe: (() => void) | undefined;
  private readonly recentStatuses: RecentStatuses;

  constructor(
    private readonly consumer: QueueConsumer<FrameJob>,
    private readonly detector: Detector & TimedDetector,
    private readonly frames: FrameReader,
    private readonly videos: VideoStatusSource,
    private readonly results: ResultSink,
    private readonly metrics: WorkerMetrics,
    private readonly logger: Logger,
    private readonly options: DetectionWorkerOptions,
  ) {
    this.blockTimeoutMs = options.blockTimeoutMs ?? 5000;
    this.retryPolicy = options.retry ?? { baseMs: 100, maxMs: 5000 };
    this.recentStatuses = new RecentStatuses(options.statusTtlMs ?? 1000);
  }

  /** Recovers this consumer's leftovers, starts the heartbeat and the loop. */
  async start(): Promise<void> {
    const recovered = await this.consumer.start();
    if (recovered.recovered > 0) {
      this.logger.info(recovered, 'handed back jobs a previous run of this consumer left');
    }
    this.unsubscribe = this.consumer.onResync(() => {
      this.resyncRequested = true;
    });
    this.lastStats = this.detector.stats?.();
    this.running = this.run();
  }

  /**
   * Graceful stop: claim nothing more, finish the batches in hand until `deadlineMs`, then hand
   * whatever is still unsettled back to pending (no delivery counted), stop the heartbeat and
   * deregister. The detector, Redis client and database pool stay open: they are main's.
   */
  async close(options: { deadlineMs?: number } = {}): Promise<WorkerCloseReport> {
    this.stopping = true;
    this.consumer.interruptWait();
    const deadline = options.deadlineMs ?? 20_000;
    let timer: NodeJS.Timeout | undefined;
    const drained = await Promise.race([
      (this.running ?? Promise.resolve()).then(() => true),
      new Promise<boolean>((resolve) => {
        timer = setTimeout(() => {
          resolve(false);
        }, deadline);
      }),
    ]);
    clearTimeout(timer);
    if (!drained) this.abandoned = true;
    let handedBack = 0;
    try {
      handedBack = await this.consumer.release();
    } catch (error) {
      this.logger.warn({ err: error }, 'could not hand jobs back; the reaper will reclaim them');
    }
    this.consumer.stop();
    this.unsubscribe?.();
    this.metrics.inFlight.set(0);
    return { drained, handedBack };
  }

  /** Read through a method: a close() may flip it during any await of the loop. */
  private isStopping(): boolean {
    return this.stopping;
  }

  private async run(): Promise<void> {
    const maxFailures = this.options.maxDetectorFailures ?? 3;
    let failures = 0;
    while (!this.stopping) {
      try {
        for await (const outcome of this.detector.detectMany(this.items())) {
          this.recordDetectorTimings();
          const { job, batch } = outcome.item;
          if (outcome.error === undefined) {
            failures = 0;
            batch.settle(job, { kind: 'detected', detections: outcome.detections });
          } else if (outcome.error instanceof ImageInputError) {
            batch.settle(job, { kind: 'corrupt', error: outcome.error });
          } else {
            throw outcome.error;
          }
          if (batch.done) await this.complete(batch);
        }
      } catch (error) {
        // The detector itself failed (not one image): hand the batches in hand back as
        // retryable, so a detector that keeps failing on some input still dead-letters it.
        this.metrics.error('detector_failed');
        failures++;
        // A hung detector never recovers: retrying would only claim jobs to fail them.
        if (failures >= maxFailures || error instanceof DetectorHungError) {
          const why =
            error instanceof DetectorHungError
              ? 'an inference run hung'
              : `the detector failed ${failures} times in a row`;
          this.logger.error(
            { err: error, failures },
            `${why}; giving up (stop claiming, jobs in hand retried through the queue) so the ` +
              'process can be restarted',
          );
          this.stopping = true;
          this.consumer.interruptWait();
          await this.failInFlight(error);
          await this.writes;
          this.options.onFatal?.(error);
          return;
        }
        this.logger.error(
          { err: error, failures },
          'detection stream failed; retrying the jobs in hand',
        );
        await this.failInFlight(error);
        if (!this.isStopping()) await sleep(backoffMs(failures, this.retryPolicy));
      }
    }
    await this.writes;
  }

  /** The detector's input: claimed, status-checked, read frames. Ends when stopping. */
  private async *items(): AsyncGenerator<FrameItem> {
    while (!this.stopping) {
      const jobs = await this.claim();
      if (jobs.length === 0) continue;
      const batch = new ClaimedBatch(jobs);
      this.inFlight.add(batch);
      this.metrics.inFlight.inc(jobs.length);
      this.metrics.batchSize.observe(jobs.length);
      let ready: FrameItem[];
      try {
        ready = await this.prepare(batch);
      } catch (error) {
        if (error instanceof StopWaiting) return; // unsettled jobs are handed back by close()
        throw error;
      }
      if (batch.done) {
        await this.complete(batch);
        continue;
      }
      yield* ready;
    }
  }

  /** Drops jobs of final videos, reads the frames of the rest. */
  private async prepare(batch: ClaimedBatch): Promise<FrameItem[]> {
    const { known: statuses, stale } = this.recentStatuses.lookup(distinctVideos(batch.jobs));
    if (stale.length > 0) {
      const fresh = await this.retrying('database', () => this.videos.statuses(stale));
      this.recentStatuses.remember(fresh);
      for (const [id, status] of fresh) statuses.set(id, status);
    }
    const live = batch.jobs.filter((job) => {
      if (isLive(statuses.get(job.data.videoId))) return true;
      batch.settle(job, { kind: 'drop' });
      return false;
    });
    const reads = await Promise.all(
      live.map((job) => this.retrying('storage', () => this.frames.read(job.data.storageKey))),
    );
    const ready: FrameItem[] = [];
    live.forEach((job, i) => {
      const read = reads[i];
      if (read === undefined) return;
      if (read.kind === 'missing') batch.settle(job, { kind: 'missing', error: read.error });
      else ready.push({ image: read.bytes, sourceSize: job.data.sourceSize, job, batch });
    });
    return ready;
  }

  /** Claims up to a batch; blocks (up to blockTimeoutMs) only when the queue is empty. */
  private async claim(): Promise<Job<FrameJob>[]> {
    const size = this.options.batchSize;
    try {
      const adopted = this.resyncRequested ? await this.resync() : [];
      const claimed = adopted.length >= size ? [] : (await this.consumer.claim(size)).jobs;
      const jobs = [...adopted, ...claimed];
      if (jobs.length > 0 || this.stopping) return jobs;
      const waited = (await this.consumer.waitForJob(this.blockTimeoutMs)).jobs;
      if (waited.length === 0 || size <= 1 || this.isStopping()) return waited;
      return [...waited, ...(await this.consumer.claim(size - waited.length)).jobs];
    } catch (error) {
      if (this.stopping) return [];
      this.metrics.error('redis_unavailable');
      this.logger.warn({ err: error }, 'claiming frame jobs failed; backing off');
      await sleep(backoffMs(2, this.retryPolicy));
      return [];
    }
  }

  /**
   * After a reconnect or an expired heartbeat: jobs in this consumer's processing list that it
   * does not know (a blocking claim whose reply was lost) are adopted; jobs it knows but that
   * are gone were reclaimed, and their late acks report `lost` (harmless: writes are idempotent).
   */
  private async resync(): Promise<Job<FrameJob>[]> {
    this.resyncRequested = false;
    const known = new Set<string>();
    for (const batch of this.inFlight) for (const job of batch.jobs) known.add(job.payload);
    const payloads = await this.consumer.processingPayloads();
    const unknown = payloads.filter((p) => !known.has(p));
    if (unknown.length === 0) return [];
    const { jobs } = await this.consumer.accept(unknown);
    this.logger.warn({ adopted: jobs.length }, 'adopted jobs found in the processing list');
    return jobs;
  }

  /** Writes a settled batch behind the previous write; waits when two are outstanding. */
  private async complete(batch: ClaimedBatch): Promise<void> {
    this.writesOutstanding++;
    this.writes = this.writes.then(() =>
      this.write(batch).finally(() => {
        this.writesOutstanding--;
      }),
    );
    if (this.writesOutstanding >= 2) await this.writes;
  }

  /**
   * Writes one settled batch and acks it. Jobs whose video became final meanwhile (a cancel
   * during detection) are acked without writing: their missing frames are no error.
   *
   * A batch of results only (the usual one) is ONE statement: it reads the videos' status
   * under its lock, skips the rows of videos no longer live, probes for a redelivery and
   * inserts (`insertResultsWhile`). A batch with permanent failures first reads the statuses
   * (a missing frame of a canceled video is no failure), then writes the results and the
   * failures, then dead-letters each failed job with its error (after the commit, so a crash
   * in between only repeats an idempotent write).
   */
  private async write(batch: ClaimedBatch): Promise<void> {
    try {
      const perFrameMs = (performance.now() - batch.claimedAt) / batch.jobs.length;
      const detected: { job: Job<FrameJob>; detections: Detection[] }[] = [];
      const failed: { job: Job<FrameJob>; kind: 'missing' | 'corrupt'; error: Error }[] = [];
      let dropped = 0;
      for (const job of batch.jobs) {
        const s = batch.settled.get(job) ?? { kind: 'drop' };
        if (s.kind === 'drop') dropped++;
        else if (s.kind === 'detected') detected.push({ job, detections: s.detections });
        else failed.push({ job, kind: s.kind, error: s.error });
      }
      const toResult = (d: (typeof detected)[number]): FrameResult => ({
        ...this.frameOf(d.job),
        detections: d.detections.map(toStored),
        inferenceMs: perFrameMs,
      });
      const started = performance.now();
      let live: (job: Job<FrameJob>) => boolean;
      let inserted: number;
      const failures: { job: Job<FrameJob>; failure: FrameFailure; kind: WorkerErrorKind }[] = [];
      if (failed.length === 0) {
        const written = await this.retrying('database', () =>
          this.results.insertResultsWhile(LIVE_STATUSES, detected.map(toResult)),
        );
        this.recentStatuses.remember(written.videoStatuses);
        live = (job) => isLive(written.videoStatuses.get(job.data.videoId));
        inserted = written.inserted;
      } else {
        const statuses = await this.retrying('database', () =>
          this.videos.statuses(distinctVideos([...detected, ...failed].map((x) => x.job))),
        );
        this.recentStatuses.remember(statuses);
        live = (job) => isLive(statuses.get(job.data.videoId));
        const results = detected.filter((d) => live(d.job)).map(toResult);
        inserted = (
          await this.retrying('database', () =>
            this.results.insertResultsWhile(LIVE_STATUSES, results),
          )
        ).inserted;
        for (const f of failed.filter((x) => live(x.job))) {
          const code = f.kind === 'missing' ? 'frame_missing' : 'frame_corrupt';
          failures.push({
            job: f.job,
            kind: code,
            failure: {
              ...this.frameOf(f.job),
              errorCode: code,
              errorMessage: f.error.message.slice(0, 2000),
            },
          });
        }
        if (failures.length > 0) {
          await this.retrying('database', () =>
            this.results.recordFailures(failures.map((f) => f.failure)),
          );
        }
      }
      this.metrics.dbWriteSeconds.observe((performance.now() - started) / 1000);
      const failedJobs = new Set(failures.map((f) => f.job));
      const ack = batch.jobs.filter((job) => !failedJobs.has(job));
      dropped += [...detected, ...failed].filter((x) => !live(x.job)).length;
      this.metrics.framesDetected.inc(inserted);
      this.metrics.framesDropped.inc(dropped);
      for (const f of failures) {
        this.metrics.error(f.kind);
        this.logger.warn(
          { videoId: f.job.data.videoId, jobId: f.job.id, reason: f.failure.errorMessage },
          `frame ${f.job.data.frameIndex} failed for good (${f.kind}); dead-lettered`,
        );
        await this.retrying('redis', () =>
          this.consumer.fail(f.job, new PermanentJobError(f.failure.errorMessage)),
        );
      }
      await this.retrying('redis', () => this.consumer.ack(ack));
    } catch (error) {
      if (error instanceof StopWaiting) return; // close() hands the jobs back
      // Not an outage (a statement Postgres refuses): retry the jobs through the queue so a
      // job that can never be written is dead-lettered after maxDeliveries, not retried forever.
      this.metrics.error('write_failed');
      this.logger.error({ err: error }, 'writing a batch failed; the jobs will be retried');
      await this.failBatch(batch, error);
    } finally {
      this.inFlight.delete(batch);
      this.metrics.inFlight.dec(batch.jobs.length);
    }
  }

  /** The key and writer of a job's result or failure row. */
  private frameOf(job: Job<FrameJob>) {
    return {
      videoId: job.data.videoId,
      frameIndex: job.data.frameIndex,
      model: job.data.model,
      workerId: this.options.workerId,
    };
  }

  /** Fails every unsettled job in hand as retryable (after a detector failure). */
  private async failInFlight(error: unknown): Promise<void> {
    await this.writes;
    const batches = [...this.inFlight];
    for (const batch of batches) {
      await this.failBatch(batch, error);
      this.inFlight.delete(batch);
      this.metrics.inFlight.dec(batch.jobs.length);
    }
  }

  private async failBatch(batch: ClaimedBatch, error: unknown): Promise<void> {
    for (const job of batch.jobs) {
      try {
        const outcome = await this.consumer.fail(job, error);
        if (outcome.outcome === 'dead') await this.recordDeadLetter(job, error);
      } catch (failError) {
        // Left in the processing list: the reaper brings it back if this consumer dies, and
        // a re-sync or graceful release returns it otherwise.
        this.logger.warn({ err: failError, jobId: job.id }, 'could not fail a job');
      }
    }
  }

  /** A job out of deliveries still counts as a failed frame, so its video can finish. */
  private async recordDeadLetter(job: Job<FrameJob>, error: unknown): Promise<void> {
    this.metrics.error('dead_lettered');
    await this.results.recordFailures([
      {
        videoId: job.data.videoId,
        frameIndex: job.data.frameIndex,
        model: job.data.model,
        errorCode: 'dead_lettered',
        errorMessage: (error instanceof Error ? error.message : String(error)).slice(0, 2000),
        workerId: this.options.workerId,
      },
    ]);
  }

  /**
   * Runs `fn` until it succeeds, backing off while the failure is an outage of `what`.
   * Anything else is thrown. Gives up (StopWaiting) when a shutdown no longer waits: while
   * preparing (nothing to lose: the jobs are handed back), or once the close deadline passed.
   */
  private async retrying<R>(
    what: 'database' | 'storage' | 'redis',
    fn: () => Promise<R>,
  ): Promise<R> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await fn();
      } catch (error) {
        const transient =
          what === 'database'
            ? isTransientDatabaseError(error)
            : what === 'storage'
              ? isTransientStorageError(error)
              : true;
        if (!transient) throw error;
        if (this.abandoned || (this.stopping && what === 'storage')) throw new StopWaiting();
        this.metrics.error(
          what === 'database'
            ? 'database_unavailable'
            : what === 'storage'
              ? 'storage_unavailable'
              : 'redis_unavailable',
        );
        const delay = backoffMs(attempt, this.retryPolicy);
        this.logger.warn({ err: error, attempt, delayMs: delay }, `${what} unavailable; retrying`);
        await sleep(delay);
      }
    }
  }

  private recordDetectorTimings(): void {
    const now = this.detector.stats?.();
    if (now === undefined) return;
    const before = this.lastStats;
    this.lastStats = now;
    if (before === undefined || now.batches === before.batches) return;
    this.metrics.preprocessSeconds.observe(
      (now.resizeMs - before.resizeMs + now.copyMs - before.copyMs) / 1000,
    );
    this.metrics.inferenceSeconds.observe((now.inferenceMs - before.inferenceMs) / 1000);
  }
}

/** Whether frames of a video in this status still need results (not final, not gone). */
function isLive(status: VideoStatus | undefined): boolean {
  return status !== undefined && !isFinalStatus(status);
}

function distinctVideos(jobs: readonly Job<FrameJob>[]): string[] {
  return [...new Set(jobs.map((j) => j.data.videoId))];
}

/** The stored shape of a detection: box as `[x1, y1, x2, y2]` in original pixels. */
function toStored(d: Detection): FrameResult['detections'][number] {
  return {
    class: d.class,
    classId: d.classId,
    score: d.score,
    box: [d.box.x1, d.box.y1, d.box.x2, d.box.y2],
    ...(d.keypoints === undefined
      ? {}
      : // Keypoints without a predicted visibility are stored as fully visible.
        { keypoints: d.keypoints.map((k) => [k.x, k.y, k.visibility ?? 1] as const) }),
  };
}
