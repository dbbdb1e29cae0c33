import type { FrameJob, VideoJob } from '@framewise/contracts';
import type { VideoProgress, VideoRepository } from '@framewise/db';
import type { Logger, Registry } from '@framewise/observability';
import { Counter, Gauge } from '@framewise/observability';
import type { QueueAdmin, RedisClient } from '@framewise/queue';

/** Where the system-wide series are read from, at scrape time. */
export interface SystemMetricsSources {
  readonly queues: {
    readonly videos: QueueAdmin<VideoJob>;
    readonly frames: QueueAdmin<FrameJob>;
  };
  readonly redis: Pick<RedisClient, 'info'>;
  readonly videos: Pick<VideoRepository, 'list' | 'progress'>;
  readonly logger: Logger;
  /** Open videos (extracting or detecting) exported per video, newest first. Default 50. */
  readonly maxVideos?: number;
}

/** The video statuses whose progress is exported (the others no longer move). */
const OPEN_STATUSES = ['extracting', 'detecting'] as const;

/**
 * Registers the series that describe the whole system rather than this process: queue depths
 * by state, the age of the oldest pending job, live and expired consumers, whether Redis has
 * AOF on, and the progress of each open video. They are read from Redis and Postgres when
 * Prometheus scrapes, so they are as fresh as the scrape and cost nothing between scrapes.
 *
 * The reaper exports them because it is the one process that already watches the queues as a
 * whole; with several reapers each exports the same values (aggregate with `max`). When a
 * source cannot be read, its series are dropped for that scrape (never stale values) and the
 * failure is logged (`framewise_redis_aof_enabled`, unlabelled, reads NaN instead);
 * `framewise_system_scrape_errors_total` counts such failures.
 */
export function registerSystemMetrics(registry: Registry, sources: SystemMetricsSources): void {
  const registers = [registry];
  const maxVideos = sources.maxVideos ?? 50;
  const scrapeErrors = new Counter({
    name: 'framewise_system_scrape_errors_total',
    help: 'Scrapes in which a system-wide source (queues, Redis INFO, Postgres) could not be read.',
    labelNames: ['source'],
    // Registered last (below), so a scrape renders the failures of that same scrape.
    registers: [],
  });
  for (const source of ['queues', 'redis', 'videos']) scrapeErrors.inc({ source }, 0);
  const failed = (source: string, gauge: { reset(): void }, error: unknown) => {
    gauge.reset();
    scrapeErrors.inc({ source });
    sources.logger.warn({ err: error, source }, 'could not read a system metric source');
  };

  new Gauge({
    name: 'framewise_queue_jobs',
    help: 'Jobs in a queue by state: pending, processing (claimed, not acked), delayed (awaiting a retry), dead (dead letters).',
    labelNames: ['queue', 'state'],
    registers,
    async collect() {
      try {
        const [videos, frames] = await Promise.all([
          sources.queues.videos.depths(),
          sources.queues.frames.depths(),
        ]);
        for (const [queue, depths] of [
          ['videos', videos],
          ['frames', frames],
        ] as const) {
          for (const state of ['pending', 'processing', 'delayed', 'dead'] as const) {
            this.set({ queue, state }, depths[state]);
          }
        }
      } catch (error) {
        failed('queues', this, error);
      }
    },
  });

  new Gauge({
    name: 'framewise_queue_oldest_pending_age_seconds',
    help: 'Age of the job next in line in a queue, from its first enqueue; 0 when nothing is pending.',
    labelNames: ['queue'],
    registers,
    async collect() {
      try {
        const now = Date.now();
        const [videos, frames] = await Promise.all([
          sources.queues.videos.oldestPendingAgeMs(now),
          sources.queues.frames.oldestPendingAgeMs(now),
        ]);
        this.set({ queue: 'videos' }, (videos ?? 0) / 1000);
        this.set({ queue: 'frames' }, (frames ?? 0) / 1000);
      } catch (error) {
        failed('queues', this, error);
      }
    },
  });

  new Gauge({
    name: 'framewise_queue_consumers',
    help: 'Registered consumers of a queue: alive (heartbeat present) or expired (awaiting a reclaim).',
    labelNames: ['queue', 'state'],
    registers,
    async collect() {
      try {
        const [videos, frames] = await Promise.all([
          sources.queues.videos.consumers(),
          sources.queues.frames.consumers(),
        ]);
        for (const [queue, consumers] of [
          ['videos', videos],
          ['frames', frames],
        ] as const) {
          const alive = consumers.filter((c) => c.alive).length;
          this.set({ queue, state: 'alive' }, alive);
          this.set({ queue, state: 'expired' }, consumers.length - alive);
        }
      } catch (error) {
        failed('queues', this, error);
      }
    },
  });

  new Gauge({
    name: 'framewise_redis_aof_enabled',
    help: 'Whether the queue Redis has its append-only file on (INFO persistence aof_enabled): 1 or 0.',
    registers,
    async collect() {
      try {
        const enabled = parseAofEnabled(await sources.redis.info('persistence'));
        // An unlabelled gauge is always rendered: NaN says "unknown" (no alert compares true).
        this.set(enabled === undefined ? Number.NaN : enabled ? 1 : 0);
      } catch (error) {
        this.set(Number.NaN);
        failed('redis', { reset: () => undefined }, error);
      }
    },
  });

  new Gauge({
    name: 'framewise_video_frames',
    help: `Frames of each open (extracting or detecting) video by state: expected, extracted, done (a result), failed; the ${maxVideos} newest open videos.`,
    labelNames: ['video_id', 'status', 'state'],
    registers,
    async collect() {
      if (maxVideos === 0) return;
      try {
        const progress = await openVideoProgress(sources.videos, maxVideos);
        this.reset();
        for (const p of progress) {
          const labels = { video_id: p.videoId, status: p.status };
          if (p.expected !== null) this.set({ ...labels, state: 'expected' }, p.expected);
          this.set({ ...labels, state: 'extracted' }, p.extracted);
          this.set({ ...labels, state: 'done' }, p.done);
          this.set({ ...labels, state: 'failed' }, p.failed);
        }
      } catch (error) {
        failed('videos', this, error);
      }
    },
  });
  registry.registerMetric(scrapeErrors);
}

/** Progress of up to `limit` open videos, newest first. */
async function openVideoProgress(
  videos: Pick<VideoRepository, 'list' | 'progress'>,
  limit: number,
): Promise<VideoProgress[]> {
  const pages = await Promise.all(OPEN_STATUSES.map((status) => videos.list({ status, limit })));
  const ids = pages
    .flatMap((page) => page.items)
    .sort((a, b) => b.uploadedAt.getTime() - a.uploadedAt.getTime())
    .slice(0, limit)
    .map((video) => video.id);
  const progress = await Promise.allSettled(ids.map((id) => videos.progress(id)));
  // A video deleted between the list and its progress query is simply left out.
  return progress.flatMap((p) => (p.status === 'fulfilled' ? [p.value] : []));
}

/** Reads `aof_enabled` from an `INFO persistence` reply; undefined when it is absent. */
export function parseAofEnabled(info: string): boolean | undefined {
  const match = /^aof_enabled:(\d+)\s*$/m.exec(info);
  return match ? match[1] !== '0' : undefined;
}
