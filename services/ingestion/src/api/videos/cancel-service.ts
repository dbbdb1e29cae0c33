import type { FrameJob, VideoJob } from '@framewise/contracts';
import {
  isFinalStatus,
  publishVideoEvent,
  videoPrefix,
  type EventPublisher,
} from '@framewise/contracts';
import type { Video, VideoRepository } from '@framewise/db';
import { InvalidTransitionError } from '@framewise/db';
import type { QueueAdmin } from '@framewise/queue';
import type { VideoStorage } from '@framewise/storage';

/** What happens to a canceled video's detections. */
export type ResultsPolicy = 'keep' | 'delete';

/**
 * DELETE /v1/videos/:id. A running video is moved to `canceled` first (compare-and-set, so
 * the extractor stops at its next batch and workers drop in-flight results), then its pending
 * jobs are removed from both queues and its files from storage. `results=delete` also deletes
 * the video row, which cascades to its manifest, results and failures.
 */
export class CancelService {
  constructor(
    private readonly videos: VideoRepository,
    private readonly storage: VideoStorage,
    private readonly queues: {
      readonly videos: QueueAdmin<VideoJob>;
      readonly frames: QueueAdmin<FrameJob>;
    },
    private readonly events: EventPublisher,
    private readonly keyPrefix: string,
  ) {}

  /** Returns the video after the cancel, or undefined when `results=delete` removed it. */
  async cancel(id: string, results: ResultsPolicy): Promise<Video | undefined> {
    let video = await this.videos.get(id);
    if (!isFinalStatus(video.status)) {
      try {
        video = await this.videos.transition(id, 'canceled');
        await publishVideoEvent(this.events, this.keyPrefix, {
          videoId: id,
          type: 'status',
          status: 'canceled',
        }).catch(() => 0);
      } catch (error) {
        // It finished (or was canceled) between the read and the update: clean up anyway.
        if (!(error instanceof InvalidTransitionError)) throw error;
        video = await this.videos.get(id);
      }
    }
    await this.queues.frames.removePendingGroup(id);
    await this.queues.videos.removePendingGroup(id);
    await this.storage.deleteByPrefix(videoPrefix(id));
    if (results === 'delete') {
      await this.videos.delete(id);
      return undefined;
    }
    return video;
  }
}
