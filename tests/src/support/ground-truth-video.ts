// A ground-truth test video: solid red rectangles moving over a blue background, drawn by
// ffmpeg's lavfi `drawbox` with positions that are functions of the source frame number `n`.
// The red-square model of @framewise/detector finds exactly such rectangles (class 0,
// `red_square`, score 1), so every sampled frame's detections are known before the upload.
import { spawn } from 'node:child_process';
import type { LetterboxGeometry } from '@framewise/detector';
import { letterboxGeometry } from '@framewise/detector';

/** A box in original pixels: edges, not pixel centres (`x2` = last column + 1). */
export interface PixelBox {
  readonly x1: number;
  readonly y1: number;
  readonly x2: number;
  readonly y2: number;
}

/**
 * One rectangle: linear motion `x = x0 + dx·n`, `y = y0 + dy·n` over source frames
 * `[from, to]` (inclusive). Coordinates and sizes are even, because yuv420p halves the chroma
 * resolution and an odd edge would be blurred over two pixels.
 */
export interface MovingRect {
  readonly name: string;
  readonly width: number;
  readonly height: number;
  readonly x0: number;
  readonly dx: number;
  readonly y0: number;
  readonly dy: number;
  readonly from: number;
  readonly to: number;
}

export interface RedSquaresSpec {
  readonly width: number;
  readonly height: number;
  readonly fps: number;
  /** Source frames in the file. */
  readonly frames: number;
  /** Background colour as ffmpeg writes it (not red: the model must not see it). */
  readonly background: string;
  readonly rects: readonly MovingRect[];
}

/**
 * The suites' video: 480×270 at 10 fps, 40 frames (4 s). With the model's 320 input the
 * letterbox gain is 2/3 (not an integer ratio) and the frame is padded top and bottom, so the
 * round trip back to original pixels is really exercised. Three rectangles: one moving right
 * (frames 0–29), one moving down (0–34), one still (10–19); frames 35–39 are empty, so the
 * results include frames without detections. They never touch (the model would merge them):
 * A spans y 40–88, B x 80–116 and y ≥ 110, C x 380–420 and y 200–240 while A's right edge
 * stays ≤ 362.
 */
export const RED_SQUARES_VIDEO: RedSquaresSpec = {
  width: 480,
  height: 270,
  fps: 10,
  frames: 40,
  background: '0x2878c8',
  rects: [
    { name: 'A', width: 48, height: 48, x0: 24, dx: 10, y0: 40, dy: 0, from: 0, to: 29 },
    { name: 'B', width: 36, height: 60, x0: 80, dx: 0, y0: 110, dy: 2, from: 0, to: 34 },
    { name: 'C', width: 40, height: 40, x0: 380, dx: 0, y0: 200, dy: 0, from: 10, to: 19 },
  ],
};

/**
 * The ffmpeg filter graph (sources included) drawing the video: each rectangle is a red
 * `color` source laid over the background with `overlay`, whose position expressions are
 * evaluated per frame (`n` is the frame number; `drawbox` evaluates its position only once).
 */
export function filterGraph(spec: RedSquaresSpec): string {
  const size = (w: number, h: number) => `s=${w}x${h}:r=${spec.fps}`;
  const parts = [`color=c=${spec.background}:${size(spec.width, spec.height)}[v0]`];
  spec.rects.forEach((r, i) => {
    parts.push(`color=c=red:${size(r.width, r.height)}[r${i}]`);
    parts.push(
      `[v${i}][r${i}]overlay=x=${r.x0}+${r.dx * spec.fps}*t+0.5:y=${r.y0}+${r.dy * spec.fps}*t+0.5` +
        `:enable=between(n\\,${r.from}\\,${r.to})[v${i + 1}]`,
    );
  });
  return parts.join(';');
}

/** Writes the video (H.264, yuv420p, near-lossless so edges stay sharp) to `file`. */
export async function writeRedSquaresVideo(
  file: string,
  spec: RedSquaresSpec = RED_SQUARES_VIDEO,
  ffmpeg = 'ffmpeg',
): Promise<void> {
  await run(ffmpeg, [
    '-hide_banner',
    '-loglevel',
    'error',
    '-y',
    '-filter_complex',
    filterGraph(spec),
    '-map',
    `[v${spec.rects.length}]`,
    '-frames:v',
    String(spec.frames),
    '-c:v',
    'libx264',
    '-preset',
    'veryfast',
    '-crf',
    '12',
    '-pix_fmt',
    'yuv420p',
    file,
  ]);
}

/** The rectangles visible in source frame `n`, as drawn (original pixels). */
export function drawnBoxes(spec: RedSquaresSpec, n: number): PixelBox[] {
  return spec.rects
    .filter((r) => n >= r.from && n <= r.to)
    .map((r) => {
      const x = r.x0 + r.dx * n;
      const y = r.y0 + r.dy * n;
      return { x1: x, y1: y, x2: x + r.width, y2: y + r.height };
    });
}

/**
 * Where the model should put a drawn box after the letterbox round trip: the box is scaled
 * into the network input, the model reports the input pixels whose centres fall inside it
 * (red thresholds sit at the middle of a blurred edge), and those edges are mapped back.
 */
export function roundTripBox(box: PixelBox, geometry: LetterboxGeometry): PixelBox {
  const edge = (v: number, pad: number) => Math.ceil(v * geometry.gain + pad - 0.5);
  const back = (e: number, pad: number, size: number) =>
    Math.min(size, Math.max(0, (e - pad) / geometry.gain));
  return {
    x1: back(edge(box.x1, geometry.left), geometry.left, geometry.srcWidth),
    y1: back(edge(box.y1, geometry.top), geometry.top, geometry.srcHeight),
    x2: back(edge(box.x2, geometry.left), geometry.left, geometry.srcWidth),
    y2: back(edge(box.y2, geometry.top), geometry.top, geometry.srcHeight),
  };
}

/** The detections expected in source frame `n` with a model of the given input size. */
export function expectedBoxes(spec: RedSquaresSpec, n: number, inputSize: number): PixelBox[] {
  const geometry = letterboxGeometry(spec.width, spec.height, inputSize, inputSize);
  return drawnBoxes(spec, n).map((b) => roundTripBox(b, geometry));
}

/** Intersection over union of two boxes (0 when either is empty). */
export function iou(a: PixelBox, b: PixelBox): number {
  const w = Math.min(a.x2, b.x2) - Math.max(a.x1, b.x1);
  const h = Math.min(a.y2, b.y2) - Math.max(a.y1, b.y1);
  const inter = w > 0 && h > 0 ? w * h : 0;
  const area = (box: PixelBox) => Math.max(0, box.x2 - box.x1) * Math.max(0, box.y2 - box.y1);
  const union = area(a) + area(b) - inter;
  return union > 0 ? inter / union : 0;
}

/**
 * Pairs each expected box with its best unused detection (greedy by IoU). Returns the IoU of
 * every pair, in expected order, and how many detections were left over.
 */
export function matchBoxes(
  expected: readonly PixelBox[],
  detected: readonly PixelBox[],
): { readonly ious: number[]; readonly unmatched: number } {
  const free = new Set(detected.map((_, i) => i));
  const ious = expected.map((e) => {
    let best = -1;
    let bestIou = 0;
    for (const i of free) {
      const box = detected[i];
      if (box === undefined) continue;
      const value = iou(e, box);
      if (value > bestIou) {
        best = i;
        bestIou = value;
      }
    }
    if (best >= 0) free.delete(best);
    return bestIou;
  });
  return { ious, unmatched: free.size };
}

/** One frame's detections as the API returns them (the subset compared here). */
export interface FrameDetectionsLike {
  readonly frame_index: number;
  readonly time_ms: number;
  readonly detections: readonly {
    readonly class: string;
    readonly score: number;
    readonly box: readonly [number, number, number, number];
  }[];
}

/**
 * What is wrong with one sampled frame of an `every:<every>` upload of `spec`, as readable
 * lines (none when it is right): its time, its number of detections, their class and score
 * (the red-square model's are exact), and each expected box matched with IoU ≥ `minIou`.
 */
export function truthProblems(
  frame: FrameDetectionsLike,
  options: {
    readonly spec?: RedSquaresSpec;
    readonly every: number;
    readonly inputSize: number;
    readonly className: string;
    readonly score: number;
    readonly minIou?: number;
  },
): string[] {
  const spec = options.spec ?? RED_SQUARES_VIDEO;
  const source = frame.frame_index * options.every;
  const expected = expectedBoxes(spec, source, options.inputSize);
  const problems: string[] = [];
  const where = `frame ${frame.frame_index} (source ${source})`;
  if (frame.time_ms !== Math.round((source * 1000) / spec.fps)) {
    problems.push(`${where}: time_ms ${frame.time_ms}`);
  }
  if (frame.detections.length !== expected.length) {
    problems.push(`${where}: ${frame.detections.length} detections, expected ${expected.length}`);
  }
  for (const d of frame.detections) {
    if (d.class !== options.className || d.score !== options.score) {
      problems.push(`${where}: unexpected ${d.class} ${d.score}`);
    }
  }
  const { ious } = matchBoxes(
    expected,
    frame.detections.map(({ box: [x1, y1, x2, y2] }) => ({ x1, y1, x2, y2 })),
  );
  ious.forEach((value, i) => {
    if (value < (options.minIou ?? 0.9)) {
      problems.push(
        `${where}: box ${JSON.stringify(expected[i])} matched with IoU ${value.toFixed(3)}`,
      );
    }
  });
  return problems;
}

function run(command: string, args: readonly string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.once('error', reject);
    child.once('exit', (code) => {
      if (code === 0) resolve();
      else reject(new Error(`${command} exited with ${code}: ${stderr.trim()}`));
    });
  });
}
