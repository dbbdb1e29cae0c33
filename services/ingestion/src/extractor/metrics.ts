import type { FrameJob, VideoJob } from '@framewise/contracts';
import type { QueueAdmin } from '@framewise/queue';
import {
  Counter,
  Gauge,
  Histogram,
  LATENCY_BUCKETS_SECONDS,
  type Registry,
} from '@framewise/observability';

/** The extractor's Prometheus series. */
export interface ExtractorMetrics {
  readonly framesExtracted: Counter;
  readonly extractionSeconds: Histogram;
  readonly publishSeconds: Histogram;
}

/** Registers the extractor's series; queue depths are read from Redis at scrape time. */
export function createExtractorMetrics(
  registry: Registry,
  queues: { readonly videos: QueueAdmin<VideoJob>; readonly frames: QueueAdmin<FrameJob> },
): ExtractorMetrics {
  new Gauge({
    name: 'framewise_queue_pending_jobs',
    help: 'Jobs waiting in a queue (read from Redis at scrape time).',
    labelNames: ['queue'],
    registers: [registry],
    async collect() {
      const [videos, frames] = await Promise.all([queues.videos.depths(), queues.frames.depths()]);
      this.set({ queue: 'videos' }, videos.pending);
      this.set({ queue: 'frames' }, frames.pending);
    },
  });
  return {
    framesExtracted: new Counter({
      name: 'framewise_frames_extracted_total',
      help: 'Frames written to storage, the manifest and the frame queue.',
      registers: [registry],
    }),
    extractionSeconds: new Histogram({
      name: 'framewise_extraction_duration_seconds',
      help: 'Time from claiming a video job to the video entering detecting.',
      buckets: [1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600],
      registers: [registry],
    }),
    publishSeconds: new Histogram({
      name: 'framewise_frame_publish_duration_seconds',
      help: 'Latency of publishing one batch of frame jobs (one pipelined round trip).',
      buckets: [...LATENCY_BUCKETS_SECONDS],
      registers: [registry],
    }),
  };
}
