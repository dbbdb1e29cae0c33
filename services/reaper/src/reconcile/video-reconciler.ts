import type { VideoJob } from '@framewise/contracts';
import { videoJobId } from '@framewise/contracts';
import type { VideoRepository } from '@framewise/db';
import { InvalidTransitionError } from '@framewise/db';
import type { Logger } from '@framewise/observability';
import type { QueueDefinition, RedisClient } from '@framewise/queue';
import { QueueProducer } from '@framewise/queue';
import { snapshotQueue, withLock } from './queue-snapshot';

/** Options of a {@link VideoReconciler}. */
export interface VideoReconcilerOptions {
  /** Only videos whose row is older than this (the API enqueues right after inserting it). */
  readonly graceMs: number;
  /** The lock that makes one reaper at a time reconcile videos (the video queue's hash tag). */
  readonly lockKey: string;
  readonly lockTtlMs: number;
  /** Videos per query page. Default 500. */
  readonly pageSize?: number;
  /** Redis list entries per LRANGE / ZRANGE. Default 1,000. */
  readonly scanChunk?: number;
}

/** What one pass did. */
export interface VideoReconcileReport {
  readonly ran: boolean;
  /** Videos in `uploaded` / `extracting`, older than the grace period, that were examined. */
  readonly examined: number;
  /** Of those, re-enqueued because no list of the video queue held their job. */
  readonly reenqueued: number;
  /** Of those, failed because their job was dead-lettered (extraction kept failing). */
  readonly failed: number;
}

/**
 * The video-queue half of reconciliation: a video waiting for or in extraction must have its
 * job somewhere in the video queue. When Redis lost it (FLUSHALL, AOF everysec losing the
 * last second, a failover), the video would stay `uploaded` or `extracting` forever — the
 * frame reconciler cannot help, as frames not yet extracted are in no manifest. Such videos
 * are enqueued again under their deterministic job id; the extractor resumes after the
 * frames already in the manifest. A video whose job is in the dead-letter list is failed
 * (`extraction_dead_lettered`, with the job's last error), so it does not wait forever.
 *
 * Same snapshot discipline as the frame reconciler: Redis is read before Postgres, so a job
 * acked meanwhile belongs to a video that has left `extracting`; a job missed while moving
 * between lists is enqueued a second time, which costs a redundant extraction pass (the
 * manifest, frame jobs and results are idempotent), never a lost or duplicated frame.
 */
export class VideoReconciler {
  private readonly producer: QueueProducer<VideoJob>;

  constructor(
    private readonly videos: Pick<VideoRepository, 'findAwaitingExtraction' | 'transition'>,
    private readonly queue: QueueDefinition<VideoJob>,
    private readonly redis: RedisClient,
    private readonly logger: Logger,
    private readonly options: VideoReconcilerOptions,
  ) {
    this.producer = new QueueProducer(queue, redis);
  }

  async runOnce(now: Date = new Date()): Promise<VideoReconcileReport> {
    const report = await withLock(this.redis, this.options.lockKey, this.options.lockTtlMs, () =>
      this.pass(new Date(now.getTime() - this.options.graceMs)),
    );
    return report ?? { ran: false, examined: 0, reenqueued: 0, failed: 0 };
  }

  private async pass(updatedBefore: Date): Promise<VideoReconcileReport> {
    const first = await this.videos.findAwaitingExtraction(updatedBefore, 1);
    if (first.length === 0) return { ran: true, examined: 0, reenqueued: 0, failed: 0 };
    const { live, dead } = await snapshotQueue(
      this.redis,
      this.queue.keys,
      this.options.scanChunk ?? 1000,
    );
    const pageSize = this.options.pageSize ?? 500;
    let examined = 0;
    let reenqueued = 0;
    let failed = 0;
    let after: string | undefined;
    for (;;) {
      const ids = await this.videos.findAwaitingExtraction(updatedBefore, pageSize, after);
      examined += ids.length;
      const missing: string[] = [];
      for (const videoId of ids) {
        const jobId = videoJobId(videoId);
        if (live.has(jobId)) continue;
        const deadError = dead.get(jobId);
        if (deadError === undefined) missing.push(videoId);
        else if (await this.fail(videoId, deadError)) failed++;
      }
      if (missing.length > 0) {
        await this.producer.enqueue(
          missing.map((videoId) => ({
            id: videoJobId(videoId),
            group: videoId,
            data: { videoId },
          })),
        );
        reenqueued += missing.length;
        this.logger.warn(
          { videos: missing },
          're-enqueued videos awaiting extraction whose job was in no queue list',
        );
      }
      after = ids[ids.length - 1];
      if (after === undefined || ids.length < pageSize) break;
    }
    return { ran: true, examined, reenqueued, failed };
  }

  /** Fails a video whose extraction job was dead-lettered; false when it moved on meanwhile. */
  private async fail(videoId: string, error: string): Promise<boolean> {
    try {
      await this.videos.transition(videoId, 'failed', {
        error: { code: 'extraction_dead_lettered', message: error.slice(0, 2000) },
      });
      return true;
    } catch (caught) {
      if (caught instanceof InvalidTransitionError) return false; // canceled or finished meanwhile
      throw caught;
    }
  }
}
