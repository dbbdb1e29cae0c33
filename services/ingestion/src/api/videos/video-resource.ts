import type { Video, VideoProgress } from '@framewise/db';
import { formatSampling } from '../../media/sampling';

/** A video as the API shows it (snake_case JSON, ISO times). */
export function videoResource(video: Video, progress?: VideoProgress) {
  const self = `/v1/videos/${video.id}`;
  return {
    id: video.id,
    status: video.status,
    filename: video.originalFilename,
    size_bytes: video.sizeBytes,
    camera: video.cameraId,
    recorded_at: iso(video.recordedAt),
    sampling: formatSampling(video.sampling),
    model: video.model,
    probe:
      video.probe === null
        ? null
        : {
            duration_s: video.probe.durationS,
            fps: video.probe.fps,
            width: video.probe.width,
            height: video.probe.height,
            codec: video.probe.codec,
          },
    progress: progressResource(video, progress),
    timings: {
      uploaded_at: iso(video.uploadedAt),
      extracting_at: iso(video.extractingAt),
      detecting_at: iso(video.detectingAt),
      completed_at: iso(video.completedAt),
      failed_at: iso(video.failedAt),
      canceled_at: iso(video.canceledAt),
    },
    error: video.error,
    links: {
      self,
      events: `${self}/events`,
      detections: `${self}/detections`,
      frames: `${self}/frames/{index}`,
    },
  };
}

/** Progress counts: from the rows when `progress` is given, else what the video row knows. */
export function progressResource(video: Video, progress?: VideoProgress) {
  return {
    expected: progress?.expected ?? video.extractedFrames ?? video.expectedFrames,
    extracted: progress?.extracted ?? video.extractedFrames ?? 0,
    detected: progress?.done ?? null,
    failed: progress?.failed ?? null,
  };
}

function iso(date: Date | null): string | null {
  return date === null ? null : date.toISOString();
}
