import type { EventPublisher } from '@framewise/contracts';
import { publishVideoEvent } from '@framewise/contracts';
import type { VideoRepository } from '@framewise/db';
import { InvalidTransitionError, VideoNotFoundError } from '@framewise/db';
import type { Logger } from '@framewise/observability';

/** What one finalizer pass did. */
export interface FinalizeReport {
  readonly completed: number;
  readonly completedWithErrors: number;
  /** Videos another reaper (or a cancel) moved first. */
  readonly lostRaces: number;
}

/**
 * Marks `detecting` videos whose every manifest frame has a result or a permanent failure as
 * `completed` (no failures) or `completed_with_errors`, stamping the completion time, and
 * publishes the status event the API's SSE stream shows. The transition is a compare-and-set
 * in Postgres, so of several reapers (or a reaper and a cancel) exactly one wins, and only the
 * winner publishes. Events are hints: a subscriber that misses one reads the state from Postgres.
 */
export class Finalizer {
  constructor(
    private readonly videos: Pick<VideoRepository, 'findFinishable' | 'transition'>,
    private readonly events: EventPublisher,
    private readonly keyPrefix: string,
    private readonly logger: Logger,
    private readonly batch = 100,
  ) {}

  async runOnce(): Promise<FinalizeReport> {
    let completed = 0;
    let completedWithErrors = 0;
    let lostRaces = 0;
    for (const video of await this.videos.findFinishable(this.batch)) {
      const status = video.failed > 0 ? 'completed_with_errors' : 'completed';
      try {
        await this.videos.transition(video.videoId, status);
      } catch (error) {
        if (error instanceof InvalidTransitionError || error instanceof VideoNotFoundError) {
          lostRaces++;
          continue;
        }
        throw error;
      }
      if (status === 'completed') completed++;
      else completedWithErrors++;
      this.logger.info(
        { videoId: video.videoId, frames: video.frames, failed: video.failed },
        `video ${status}`,
      );
      try {
        await publishVideoEvent(this.events, this.keyPrefix, {
          videoId: video.videoId,
          type: 'status',
          status,
          progress: {
            expected: video.frames,
            extracted: video.frames,
            detected: video.done,
            failed: video.failed,
          },
        });
      } catch (error) {
        this.logger.warn({ err: error, videoId: video.videoId }, 'could not publish the event');
      }
    }
    return { completed, completedWithErrors, lostRaces };
  }
}
