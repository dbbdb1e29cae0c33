import { z } from 'zod';

/** Video statuses, in lifecycle order (the same values as @framewise/db's `videos.status`). */
export const VIDEO_STATUSES = [
  'uploaded',
  'extracting',
  'detecting',
  'completed',
  'completed_with_errors',
  'failed',
  'canceled',
] as const;
export const VideoStatus = z.enum(VIDEO_STATUSES);
export type VideoStatus = z.infer<typeof VideoStatus>;

/** A status after which nothing more happens to a video. */
export function isFinalStatus(status: VideoStatus): boolean {
  return (
    status === 'completed' ||
    status === 'completed_with_errors' ||
    status === 'failed' ||
    status === 'canceled'
  );
}

export const VideoProgress = z.object({
  /** Frames the extractor will produce (known once the video is probed), else null. */
  expected: z.number().int().min(0).nullable(),
  extracted: z.number().int().min(0),
  /** Frames with a result. */
  detected: z.number().int().min(0),
  /** Frames that failed for good. */
  failed: z.number().int().min(0),
});
export type VideoProgress = z.infer<typeof VideoProgress>;

/**
 * A change to a video that people watching it should see (the API's SSE stream): published on
 * Redis by whichever process caused it. Events are hints for low latency; the state itself is
 * in Postgres, so a subscriber that missed events reads it there and loses nothing.
 */
export const VideoEvent = z.object({
  videoId: z.uuid(),
  type: z.enum(['status', 'progress']),
  status: VideoStatus,
  progress: VideoProgress.optional(),
  /** ISO-8601 time the event was published. */
  at: z.iso.datetime(),
});
export type VideoEvent = z.infer<typeof VideoEvent>;

/** The Redis pub/sub channel of one video's events. */
export function videoEventsChannel(keyPrefix: string, videoId: string): string {
  return `${keyPrefix}events:video:${videoId}`;
}

/** The pattern matching every video's channel (for a process that watches them all). */
export function allVideoEventsPattern(keyPrefix: string): string {
  return `${keyPrefix}events:video:*`;
}

/** The part of a Redis client publishing needs (an ioredis client fits). */
export interface EventPublisher {
  publish(channel: string, message: string): Promise<number>;
}

/** Validates and publishes an event; returns how many subscribers received it. */
export async function publishVideoEvent(
  redis: EventPublisher,
  keyPrefix: string,
  event: Omit<VideoEvent, 'at'> & { at?: string },
): Promise<number> {
  const full = VideoEvent.parse({ ...event, at: event.at ?? new Date().toISOString() });
  return redis.publish(videoEventsChannel(keyPrefix, full.videoId), JSON.stringify(full));
}

/** Parses an event received on a channel; undefined when it is not a valid event. */
export function parseVideoEvent(message: string): VideoEvent | undefined {
  try {
    const result = VideoEvent.safeParse(JSON.parse(message));
    return result.success ? result.data : undefined;
  } catch {
    return undefined;
  }
}
