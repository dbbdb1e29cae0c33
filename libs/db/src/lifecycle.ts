import type { VideoStatus } from './schema';

/**
 * The statuses a video may move to from each status. The repository enforces it with a
 * compare-and-set UPDATE, so two processes racing (a cancel and the finalizer, say) cannot
 * both win. `extracting → extracting` lets a redelivered video job restart extraction.
 */
export const VIDEO_TRANSITIONS: Readonly<Record<VideoStatus, readonly VideoStatus[]>> = {
  uploaded: ['extracting', 'failed', 'canceled'],
  extracting: ['extracting', 'detecting', 'failed', 'canceled'],
  detecting: ['completed', 'completed_with_errors', 'failed', 'canceled'],
  completed: [],
  completed_with_errors: [],
  failed: [],
  canceled: [],
};

/** Statuses after which nothing more happens to a video. */
export const FINAL_STATUSES: readonly VideoStatus[] = [
  'completed',
  'completed_with_errors',
  'failed',
  'canceled',
];

/** The statuses from which `to` may be entered. */
export function statusesLeadingTo(to: VideoStatus): VideoStatus[] {
  return (Object.keys(VIDEO_TRANSITIONS) as VideoStatus[]).filter((from) =>
    VIDEO_TRANSITIONS[from].includes(to),
  );
}

/** The timestamp column that records entering `status`. */
export function transitionColumn(
  status: Exclude<VideoStatus, 'uploaded'>,
): 'extracting_at' | 'detecting_at' | 'completed_at' | 'failed_at' | 'canceled_at' {
  switch (status) {
    case 'extracting':
      return 'extracting_at';
    case 'detecting':
      return 'detecting_at';
    case 'completed':
    case 'completed_with_errors':
      return 'completed_at';
    case 'failed':
      return 'failed_at';
    case 'canceled':
      return 'canceled_at';
  }
}
