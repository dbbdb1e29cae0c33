// Test videos with known content, made by ffmpeg's lavfi: solid red squares moving over a blue
// background, which libs/detector's self-made red-square model detects exactly. Shared by the
// whole-system suites.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** A red square: its top-left corner at time t is (`x0 + vx·t`, `y`). Even numbers keep edges sharp in yuv420p. */
export interface MovingSquare {
  readonly x0: number;
  readonly y: number;
  readonly size: number;
  /** Horizontal speed in pixels per second. */
  readonly vx: number;
}

/** What to draw. */
export interface RedSquareVideoSpec {
  readonly width: number;
  readonly height: number;
  /** Source frame rate. */
  readonly fps: number;
  readonly durationS: number;
  readonly squares: readonly MovingSquare[];
}

/** How the upload asks frames to be sampled, in the API's syntax. */
export type SamplingSpec = 'all' | `fps:${number}` | `every:${number}`;

/**
 * `count` squares in horizontal lanes, far enough apart never to touch, each staying fully
 * inside the frame for the whole video (the model then finds exactly `count` boxes per frame).
 */
export function laneSquares(
  count: number,
  spec: { width: number; height: number; durationS: number },
): MovingSquare[] {
  const size = 2 * Math.floor(spec.height / (4 * Math.max(count, 1)) / 2);
  const lane = Math.floor(spec.height / Math.max(count, 1));
  const travel = spec.width - size - 40;
  const vx = 2 * Math.floor(travel / spec.durationS / 2 / 2);
  return Array.from({ length: count }, (_, k) => ({
    x0: 20 + 2 * k,
    y: 2 * Math.floor((k * lane + (lane - size) / 2) / 2),
    size,
    vx,
  }));
}

/** The lavfi filter graph that draws `spec`. */
export function redSquareFilter(spec: RedSquareVideoSpec): string {
  const base = `color=c=0x2878c8:s=${spec.width}x${spec.height}:r=${spec.fps}:d=${spec.durationS}`;
  const boxes = spec.squares.map(
    (s) => `drawbox=x='${s.x0}+t*${s.vx}':y=${s.y}:w=${s.size}:h=${s.size}:color=red:t=fill`,
  );
  return [base, ...boxes].join(',');
}

/** Encodes `spec` as H.264 MP4 (yuv420p) at `file`. */
export async function writeRedSquareVideo(file: string, spec: RedSquareVideoSpec): Promise<void> {
  await run('ffmpeg', [
    ...['-v', 'error', '-y', '-f', 'lavfi', '-i', redSquareFilter(spec)],
    ...['-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', file],
  ]);
}

/** The ffmpeg filter a sampling applies, written independently of the extractor's code. */
function samplingGraph(sampling: SamplingSpec): string {
  if (sampling === 'all') return '';
  const [kind, value] = sampling.split(':');
  if (kind === 'fps') return `,fps=${value}`;
  return `,select='not(mod(n\\,${value}))'`;
}

/**
 * How many frames the sampling yields for `file`, counted by ffprobe decoding the file through
 * the sampling filter (`-count_frames`): the independent truth a frame manifest must match.
 */
export async function ffprobeSampledFrames(file: string, sampling: SamplingSpec): Promise<number> {
  if (/[,:;'\\[\]=]/.test(file)) {
    throw new Error(`ffprobeSampledFrames: ${file} has characters the movie filter would misread`);
  }
  const { stdout } = await run('ffprobe', [
    ...['-v', 'error', '-f', 'lavfi', '-i', `movie=${file}${samplingGraph(sampling)}`],
    ...['-count_frames', '-select_streams', 'v:0'],
    ...['-show_entries', 'stream=nb_read_frames', '-of', 'csv=p=0'],
  ]);
  const frames = Number.parseInt(stdout.trim(), 10);
  if (!Number.isInteger(frames) || frames < 0) {
    throw new Error(`ffprobe gave no frame count for ${file} (${sampling}): ${stdout}`);
  }
  return frames;
}
