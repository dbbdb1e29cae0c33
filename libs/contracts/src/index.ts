/**
 * @framewise/contracts — what framewise's processes say to each other, in one place:
 * the video and frame job payloads and their queues, the storage key layout of a video, and
 * the progress events the API streams to people watching a video.
 */
export {
  VideoJob,
  FrameJob,
  QUEUE_NAMES,
  videoQueue,
  frameQueue,
  videoJobId,
  frameJobId,
  frameJobEntry,
} from './jobs';
export type { QueueSettings } from './jobs';
export { videoPrefix, originalKey, framesPrefix, frameKey } from './storage-keys';
export {
  VIDEO_STATUSES,
  VideoStatus,
  VideoProgress,
  VideoEvent,
  isFinalStatus,
  videoEventsChannel,
  allVideoEventsPattern,
  publishVideoEvent,
  parseVideoEvent,
} from './events';
export type { EventPublisher } from './events';
