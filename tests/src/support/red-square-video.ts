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

/**
 * The lavfi filter graph that draws `spec`: each square is a red `color` source overlaid on the
 * background. (Not `drawbox` with a `t` expression: ffmpeg 5.1's drawbox evaluates its
 * position once, where `t` is NaN, and draws nothing; `overlay` evaluates it per frame.)
 */
export function redSquareFilter(spec: RedSquareVideoSpec): string {
  const timing = `r=${spec.fps}:d=${spec.durationS}`;
  const background = `color=c=0x2878c8:s=${spec.width}x${spec.height}:${timing}`;
  if (spec.squares.length === 0) return `${background}[out0]`;
  const parts = [`${background}[v0]`];
  spec.squares.forEach((s, k) => {
    const out = k === spec.squares.length - 1 ? 'out0' : `v${k + 1}`;
    parts.push(`color=c=red:s=${s.size}x${s.size}:${timing}[s${k}]`);
    parts.push(`[v${k}][s${k}]overlay=x='${s.x0}+t*${s.vx}':y=${s.y}[${out}]`);
  });
  return parts.join(';');
}

/** Encodes `spec` as H.264 MP4 (yuv420p) at `file`. */
export async function writeRedSquareVideo(file: string, spec: RedSquareVideoSpec): Promise<void> {
  await run('ffmpeg', [
    ...['-v', 'error', '-y', '-f', 'lavfi', '-i', redSquareFilter(spec)],
    ...['-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', file],
  ]);
}

/**
 * How many frames the sampling yields for `file`, from ffprobe: the video stream's decoded
 * frame count (`-count_frames`) and duration. `all`: every frame; `every:n`: frames 0, n,
 * 2n, … (⌈count / n⌉); `fps:r`: one frame per 1/r s tick from 0 up to the duration
 * (⌈duration · r⌉), exact for the constant-frame-rate videos made here. (Counting through a
 * lavfi `movie=…,fps=r` graph instead comes out one short: that path drops the last tick.)
 */
export async function ffprobeSampledFrames(file: string, sampling: SamplingSpec): Promise<number> {
  const { stdout } = await run('ffprobe', [
    ...['-v', 'error', '-count_frames', '-select_streams', 'v:0'],
    ...['-show_entries', 'stream=nb_read_frames,duration', '-of', 'json', file],
  ]);
  const stream = (
    JSON.parse(stdout) as { streams?: { nb_read_frames?: string; duration?: string }[] }
  ).streams?.[0];
  const frames = Number(stream?.nb_read_frames);
  const duration = Number(stream?.duration);
  if (!Number.isInteger(frames) || !(duration > 0)) {
    throw new Error(`ffprobe gave no frame count or duration for ${file}: ${stdout}`);
  }
  if (sampling === 'all') return frames;
  const [kind, value] = sampling.split(':');
  const n = Number(value);
  if (kind === 'every') return Math.ceil(frames / n);
  return Math.ceil(duration * n - 1e-6);
}
