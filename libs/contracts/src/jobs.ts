import { defineQueue } from '@framewise/queue';
import type { NewJob, QueueDefinition, RetryPolicy } from '@framewise/queue';
import { z } from 'zod';

/** A video to extract frames from: enqueued by the API after the upload is stored. */
export const VideoJob = z.object({
  videoId: z.uuid(),
});
export type VideoJob = z.infer<typeof VideoJob>;

/** One frame to run detection on: enqueued by the extractor as the frame is written. */
export const FrameJob = z.object({
  videoId: z.uuid(),
  frameIndex: z.number().int().min(0),
  /** Where the extractor wrote the frame (a JPEG) in VideoStorage. */
  storageKey: z.string().min(1).max(1024),
  /** The results key, `<name>@<version>`: the video's `model` column in @framewise/db. */
  model: z.string().min(1).max(200),
  /**
   * The video's upright size in pixels. The extractor may store frames scaled down (to the
   * detector's input size, EXTRACT_FRAME_MAX_SIZE); results are reported in these pixels, so
   * the worker maps boxes from the stored frame to this size. Absent (jobs from before it
   * existed): boxes stay in the stored frame's pixels.
   */
  sourceSize: z
    .object({
      width: z.number().int().min(1).max(65_535),
      height: z.number().int().min(1).max(65_535),
    })
    .optional(),
});
export type FrameJob = z.infer<typeof FrameJob>;

/** Queue names; each is also the queue's Redis Cluster hash tag (`fw:{frames}:pending`). */
export const QUEUE_NAMES = { videos: 'videos', frames: 'frames' } as const;

/** What a deployment may tune about a queue; producers and consumers must agree on it. */
export interface QueueSettings {
  readonly keyPrefix?: string;
  readonly maxDeliveries?: number;
  readonly retry?: Partial<RetryPolicy>;
}

/** The queue of video jobs (API → extractor). */
export function videoQueue(settings: QueueSettings = {}): QueueDefinition<VideoJob> {
  return defineQueue({ name: QUEUE_NAMES.videos, schema: VideoJob, ...settings });
}

/** The queue of frame jobs (extractor → workers; the reaper reclaims and reconciles it). */
export function frameQueue(settings: QueueSettings = {}): QueueDefinition<FrameJob> {
  return defineQueue({ name: QUEUE_NAMES.frames, schema: FrameJob, ...settings });
}

/**
 * The id of a video's extraction job. Deterministic, so enqueueing the same video twice (a
 * retried upload, a reconciliation) never makes two live jobs with different ids.
 */
export function videoJobId(videoId: string): string {
  return `video:${videoId}`;
}

/** The id of a frame job: one per (video, frame, model), the same key results are stored under. */
export function frameJobId(job: Pick<FrameJob, 'videoId' | 'frameIndex' | 'model'>): string {
  return `frame:${job.videoId}:${job.frameIndex}:${job.model}`;
}

/**
 * A frame job as it goes onto the frame queue: its deterministic id (so a re-publish is the
 * same job) and the video as its group (so a cancel finds every pending frame of the video).
 */
export function frameJobEntry(data: FrameJob): NewJob<FrameJob> & { id: string; group: string } {
  return { id: frameJobId(data), group: data.videoId, data };
}
