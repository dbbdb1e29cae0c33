// Where a video's files live in VideoStorage. One place, so the API, the extractor, the
// workers and the cleanup on delete all agree.

const FRAME_DIGITS = 6;

/** Everything of one video: delete this prefix to remove the video's files. */
export function videoPrefix(videoId: string): string {
  return `videos/${videoId}/`;
}

/** The uploaded file, keeping its extension (lower-cased) for people browsing the bucket. */
export function originalKey(videoId: string, extension: string): string {
  const ext = extension.replace(/^\./, '').toLowerCase();
  if (!/^[a-z0-9]{1,8}$/.test(ext))
    throw new RangeError(`not a file extension: ${JSON.stringify(extension)}`);
  return `${videoPrefix(videoId)}original.${ext}`;
}

/** The folder of a video's extracted frames. */
export function framesPrefix(videoId: string): string {
  return `${videoPrefix(videoId)}frames/`;
}

/** One extracted frame: `videos/<id>/frames/000042.jpg` (zero-padded so listings sort by index). */
export function frameKey(videoId: string, frameIndex: number): string {
  if (!Number.isInteger(frameIndex) || frameIndex < 0) {
    throw new RangeError(`frame index must be a non-negative integer, not ${frameIndex}`);
  }
  return `${framesPrefix(videoId)}${String(frameIndex).padStart(FRAME_DIGITS, '0')}.jpg`;
}
