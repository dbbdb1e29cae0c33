import type { FrameJob } from '@framewise/contracts';
import { frameJobId } from '@framewise/contracts';
import type { FrameRepository, ResultRepository } from '@framewise/db';
import type { Logger } from '@framewise/observability';
import type { QueueDefinition, RedisClient } from '@framewise/queue';
import { QueueProducer } from '@framewise/queue';
import { snapshotQueue, withLock } from './queue-snapshot';

/** Options of a {@link Reconciler}. */
export interface ReconcilerOptions {
  /** Only manifest rows older than this are considered (the extractor enqueues right after writing them). */
  readonly graceMs: number;
  /** Manifest frames per query page. Default 500. */
  readonly pageSize?: number;
  /** Redis list entries per LRANGE / ZRANGE when snapshotting the queue. Default 1,000. */
  readonly scanChunk?: number;
  /** The lock that makes one reaper at a time reconcile (must carry the queue's hash tag). */
  readonly lockKey: string;
  /** Lock lifetime: longer than a pass can take. */
  readonly lockTtlMs: number;
}

/** What one reconciliation pass did. */
export interface ReconcileReport {
  /** False when another reaper held the lock (this pass did nothing). */
  readonly ran: boolean;
  /** Manifest frames without a result, older than the grace period, that were examined. */
  readonly examined: number;
  /** Of those, re-enqueued because no queue list held their job. */
  readonly reenqueued: number;
  /** Of those, dead-lettered without a recorded failure: recorded now, so the video can finish. */
  readonly deadLetteredRecorded: number;
  /** Job ids seen in Redis (pending, processing, delayed, dead). */
  readonly jobsInRedis: number;
}

/**
 * Makes Postgres' frame manifest, the source of truth for what must be detected, win over
 * Redis, which is only transport. Frames of unfinished videos with neither a result nor a
 * failure, older than a grace period, whose job is in no queue list, are enqueued again, so a
 * Redis that lost data (FLUSHALL, a failover without the last writes, AOF everysec) loses no
 * frame.
 *
 * Cost and correctness: each pass takes one snapshot of the job ids in Redis (pending, every
 * registered consumer's processing list, delayed, dead), read in bounded chunks — linear in
 * the queue length once per pass, never a scan per frame — and only when Postgres has
 * candidates. Redis is read BEFORE Postgres: a job seen in Redis either is still there, or
 * was acked after its result committed (then Postgres no longer lists the frame), or was
 * dead-lettered (seen in the dead list). So a frame is never skipped wrongly; the snapshot is
 * not atomic across lists, so a job moving between two lists while they are read can be
 * missed and enqueued a second time — a wasted detection, never a wrong result (results are
 * idempotent by (video, frame, model)).
 *
 * Jobs in the dead-letter list whose frame has no recorded failure (dead-lettered by a reclaim
 * after too many deliveries, or by a retry budget running out) get one, so their video can
 * finish `completed_with_errors` instead of waiting forever.
 *
 * Several reapers: a pass runs under a short Redis lock (SET NX PX, released by its owner
 * only), so two reapers never enqueue the same frame within one pass; sequential passes see
 * each other's enqueues in the snapshot.
 */
export class Reconciler {
  private readonly producer: QueueProducer<FrameJob>;
  private readonly pageSize: number;
  private readonly scanChunk: number;

  constructor(
    private readonly frames: Pick<FrameRepository, 'findWithoutResult'>,
    private readonly results: Pick<ResultRepository, 'recordFailures'>,
    private readonly queue: QueueDefinition<FrameJob>,
    private readonly redis: RedisClient,
    private readonly logger: Logger,
    private readonly options: ReconcilerOptions,
  ) {
    this.producer = new QueueProducer(queue, redis);
    this.pageSize = options.pageSize ?? 500;
    this.scanChunk = options.scanChunk ?? 1000;
  }

  async runOnce(now: Date = new Date()): Promise<ReconcileReport> {
    const report = await withLock(this.redis, this.options.lockKey, this.options.lockTtlMs, () =>
      this.pass(new Date(now.getTime() - this.options.graceMs)),
    );
    return (
      report ?? { ran: false, examined: 0, reenqueued: 0, deadLetteredRecorded: 0, jobsInRedis: 0 }
    );
  }

  private async pass(createdBefore: Date): Promise<ReconcileReport> {
    // Cheap exit first: no candidate in Postgres means no Redis scan at all.
    const first = await this.frames.findWithoutResult({ createdBefore, limit: 1 });
    if (first.length === 0) {
      return { ran: true, examined: 0, reenqueued: 0, deadLetteredRecorded: 0, jobsInRedis: 0 };
    }
    const { live, dead } = await snapshotQueue(this.redis, this.queue.keys, this.scanChunk);
    let examined = 0;
    let reenqueued = 0;
    let deadLetteredRecorded = 0;
    let after: { videoId: string; frameIndex: number } | undefined;
    for (;;) {
      const page = await this.frames.findWithoutResult({
        createdBefore,
        limit: this.pageSize,
        ...(after === undefined ? {} : { after }),
      });
      if (page.length === 0) break;
      examined += page.length;
      const missing: FrameJob[] = [];
      const deadFrames: { job: FrameJob; error: string }[] = [];
      for (const frame of page) {
        const job: FrameJob = {
          videoId: frame.videoId,
          frameIndex: frame.frameIndex,
          storageKey: frame.storageKey,
          model: frame.model,
        };
        const id = frameJobId(job);
        if (live.has(id)) continue;
        const deadError = dead.get(id);
        if (deadError !== undefined) deadFrames.push({ job, error: deadError });
        else missing.push(job);
      }
      if (missing.length > 0) {
        await this.producer.enqueue(
          missing.map((data) => ({ id: frameJobId(data), group: data.videoId, data })),
        );
        reenqueued += missing.length;
        this.logger.warn(
          { frames: missing.length, videos: [...new Set(missing.map((m) => m.videoId))] },
          're-enqueued manifest frames that were in no queue list',
        );
      }
      if (deadFrames.length > 0) {
        const written = await this.results.recordFailures(
          deadFrames.map(({ job, error }) => ({
            videoId: job.videoId,
            frameIndex: job.frameIndex,
            model: job.model,
            errorCode: 'dead_lettered',
            errorMessage: error.slice(0, 2000),
            workerId: null,
          })),
        );
        deadLetteredRecorded += written.inserted;
      }
      const last = page[page.length - 1];
      if (last === undefined || page.length < this.pageSize) break;
      after = { videoId: last.videoId, frameIndex: last.frameIndex };
    }
    return {
      ran: true,
      examined,
      reenqueued,
      deadLetteredRecorded,
      jobsInRedis: live.size + dead.size,
    };
  }
}
