/** A video as GET /v1/videos/:id shows it (the fields the demo reads). */
export interface VideoView {
  readonly id: string;
  readonly status: string;
  readonly progress: {
    readonly expected: number | null;
    readonly extracted: number;
    readonly detected: number | null;
    readonly failed: number | null;
  };
  readonly error: unknown;
}

export const FINAL = ['completed', 'completed_with_errors', 'failed', 'canceled'];

/** Fraction done, 0..1: frames detected (or failed) of frames expected; 1 when final. */
export function fractionDone(video: VideoView): number {
  if (FINAL.includes(video.status)) return 1;
  const { expected, detected, failed } = video.progress;
  if (expected === null || expected === 0) return 0;
  return Math.min(1, ((detected ?? 0) + (failed ?? 0)) / expected);
}

/** `[##########··········]  50%  detecting  15/30 frames` for a terminal of `width` columns. */
export function progressBar(video: VideoView, width: number): string {
  const fraction = fractionDone(video);
  const { expected, extracted, detected } = video.progress;
  const counts =
    video.status === 'extracting' || video.status === 'uploaded'
      ? `${extracted}${expected === null ? '' : `/${expected}`} frames extracted`
      : `${detected ?? 0}${expected === null ? '' : `/${expected}`} frames detected`;
  const label = `${String(Math.round(fraction * 100)).padStart(3)}%  ${video.status}  ${counts}`;
  const barWidth = Math.max(10, Math.min(40, width - label.length - 4));
  const filled = Math.round(fraction * barWidth);
  return `[${'#'.repeat(filled)}${'·'.repeat(barWidth - filled)}] ${label}`;
}

/** A plain line for logs and pipes (no carriage returns). */
export function progressLine(video: VideoView): string {
  const { expected, extracted, detected } = video.progress;
  return `${video.status}: ${extracted} extracted, ${detected ?? 0} detected${expected === null ? '' : ` of ${expected}`} frames`;
}
