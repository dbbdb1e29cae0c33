// How the extractor stores frames: the filter graph (sampling, then a downscale to the model's
// size) and the JPEG encoder's arguments. The benchmarks extract their frames with the same.
import type { Sampling } from '@framewise/db';
import { samplingFilter } from './sampling';

/** The default largest side of a stored frame: the input size of the usual YOLO exports. */
export const DEFAULT_FRAME_MAX_SIZE = 640;

/**
 * The ffmpeg filter graph of an extraction, or undefined for none: the sampling, then, when
 * `maxSize` > 0, a downscale that fits each frame inside `maxSize`×`maxSize` (aspect kept,
 * never enlarged) into full-resolution chroma (4:4:4).
 *
 * Frames are detected at the model's input size anyway (640 for the usual YOLO exports), so
 * storing them larger only costs storage, I/O and, above all, JPEG decoding in every worker: a
 * 1080p frame takes about 3× the CPU of a 640×360 one. At that size the JPEG's own losses
 * matter more, hence 4:4:4 and the extractor's top quality by default: measured on the street
 * fixture, the detections of such frames match those of the 1080p frames within about a point
 * of how well two renderings of the same 1080p frames match (`npm run bench:frames`). Scaling after the
 * sampling resizes only the frames kept; ffmpeg has already turned rotated video upright.
 */
export function extractionFilter(sampling: Sampling, maxSize: number): string | undefined {
  const filters = [samplingFilter(sampling)];
  if (maxSize > 0) {
    // Quoted, so the commas inside min() do not end the filter.
    filters.push(
      `scale=w='min(iw,${maxSize})':h='min(ih,${maxSize})'` +
        ':force_original_aspect_ratio=decrease:flags=bilinear',
      'format=yuvj444p',
    );
  }
  const graph = filters.filter((f) => f !== undefined);
  return graph.length === 0 ? undefined : graph.join(',');
}

/** The default quality of stored frames: the mjpeg encoder's best (see extractionFilter). */
export const DEFAULT_JPEG_QUALITY = 1;

/** ffmpeg output arguments that encode frames as JPEG at `quality` (1 best … 31 worst). */
export function jpegEncoderArgs(quality: number): string[] {
  // The encoder stops at 2 unless told otherwise; 1 is its best.
  return ['-c:v', 'mjpeg', '-qmin', '1', '-q:v', String(quality)];
}

/**
 * ffmpeg output arguments that make frames as the extractor stores them: its filter graph,
 * every selected frame kept as is (no duplication or dropping to a constant rate), JPEG at
 * `quality`. Without a quality the encoder follows the output's extension (a PNG, say).
 */
export function frameOutputArgs(
  sampling: Sampling,
  maxSize: number,
  quality: number | undefined,
): string[] {
  const graph = extractionFilter(sampling, maxSize);
  return [
    ...(graph === undefined ? [] : ['-vf', graph]),
    ...['-fps_mode', 'passthrough'],
    ...(quality === undefined ? [] : jpegEncoderArgs(quality)),
  ];
}
