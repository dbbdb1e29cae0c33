// `npm run bench:frames` — what storing frames at the model's size (the extractor's
// EXTRACT_FRAME_MAX_SIZE, default 640) costs in detections and saves in worker CPU, against
// frames stored at the video's size as the extractor used to (1080p, mjpeg -q:v 3).
//
// Frames of ../shared/fixtures/videos/street-people-1080p.mp4 at BENCH_FPS (default 3) are
// extracted with the extractor's own filter graph (frameOutputArgs) in several ways; each set
// is detected with the fixture YOLOv8n (boxes of scaled frames mapped back to 1920x1080 through
// `sourceSize`, as the worker does), and its boxes are matched to the 1080p q 3 frames' boxes
// (same class, IoU ≥ 0.5, greedy, each box once). Two rows show the noise floor: the same 1080p
// frames at another quality, and decoded with libjpeg's shrink-on-load. CPU: decode + letterbox
// of each set with the detector's own resize options, one image at a time, rounds interleaved.
// Last stdout line: JSON with the default set's `matched_share`, `mean_iou`, and its
// `decode_cpu_ratio` and `bytes_ratio` against the 1080p frames.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { int, loadConfig, text, z } from '@framewise/config';
import { OnnxYoloDetector } from '@framewise/detector';
import type { Detection } from '@framewise/detector';
import { DEFAULT_FRAME_MAX_SIZE, DEFAULT_JPEG_QUALITY, frameOutputArgs } from './stored-frames';
import { median, progress, report, round } from './support';

const schema = z.object({
  BENCH_FPS: int({ min: 1, max: 30, default: 3 }),
  BENCH_ROUNDS: int({ min: 1, default: 5 }),
  FRAMEWISE_FIXTURES: text({ default: path.join(__dirname, '..', '..', 'shared', 'fixtures') }),
});
// eslint-disable-next-line no-restricted-properties -- this script is an entry point, like main.ts
const config = loadConfig(schema, process.env, { service: 'bench-frames' });
const fixtures = path.resolve(config.FRAMEWISE_FIXTURES);
const modelPath = path.join(fixtures, 'models', 'yolov8n-int8.onnx');
const videoPath = path.join(fixtures, 'videos', 'street-people-1080p.mp4');
const SOURCE = { width: 1920, height: 1080 };

/** One way of storing frames. */
interface FrameSet {
  readonly name: string;
  readonly maxSize: number;
  readonly quality: number;
  readonly format: 'jpg' | 'png';
  /** Decode with libjpeg's shrink-on-load (a noise-floor row, not a way of storing). */
  readonly fastShrinkOnLoad?: boolean;
}

const REFERENCE: FrameSet = { name: '1080p q3 (before)', maxSize: 0, quality: 3, format: 'jpg' };
const DEFAULT: FrameSet = {
  name: `${DEFAULT_FRAME_MAX_SIZE} q${DEFAULT_JPEG_QUALITY} 4:4:4 (default)`,
  maxSize: DEFAULT_FRAME_MAX_SIZE,
  quality: DEFAULT_JPEG_QUALITY,
  format: 'jpg',
};
const SETS: readonly FrameSet[] = [
  REFERENCE,
  { name: '1080p q2 (noise floor)', maxSize: 0, quality: 2, format: 'jpg' },
  { ...REFERENCE, name: '1080p q3, shrink-on-load (noise floor)', fastShrinkOnLoad: true },
  DEFAULT,
  {
    name: `${DEFAULT_FRAME_MAX_SIZE} PNG (lossless)`,
    maxSize: DEFAULT_FRAME_MAX_SIZE,
    quality: 1,
    format: 'png',
  },
  {
    name: `${DEFAULT_FRAME_MAX_SIZE} q3 4:4:4`,
    maxSize: DEFAULT_FRAME_MAX_SIZE,
    quality: 3,
    format: 'jpg',
  },
];

/** Extracts the set's frames with the extractor's filter graph; returns them in order. */
function extract(set: FrameSet, dir: string): Buffer[] {
  fs.mkdirSync(dir, { recursive: true });
  const sampling = { kind: 'fps', fps: config.BENCH_FPS } as const;
  const quality = set.format === 'jpg' ? set.quality : undefined;
  execFileSync('ffmpeg', [
    ...['-v', 'error', '-i', videoPath],
    ...frameOutputArgs(sampling, set.maxSize, quality),
    path.join(dir, `%04d.${set.format}`),
  ]);
  return fs
    .readdirSync(dir)
    .sort()
    .map((f) => fs.readFileSync(path.join(dir, f)));
}

function iou(a: Detection['box'], b: Detection['box']): number {
  const w = Math.max(0, Math.min(a.x2, b.x2) - Math.max(a.x1, b.x1));
  const h = Math.max(0, Math.min(a.y2, b.y2) - Math.max(a.y1, b.y1));
  const inter = w * h;
  const union = (a.x2 - a.x1) * (a.y2 - a.y1) + (b.x2 - b.x1) * (b.y2 - b.y1) - inter;
  return union > 0 ? inter / union : 0;
}

/** How many reference boxes find a partner (same class, IoU ≥ 0.5), and their mean IoU. */
function agreement(reference: readonly Detection[][], other: readonly Detection[][]) {
  let boxes = 0;
  let matched = 0;
  let iouSum = 0;
  reference.forEach((ref, frame) => {
    const candidates = other[frame] ?? [];
    const taken = new Set<number>();
    boxes += ref.length;
    for (const a of ref) {
      let best = -1;
      let bestIou = 0.5;
      candidates.forEach((b, j) => {
        if (taken.has(j) || b.classId !== a.classId) return;
        const v = iou(a.box, b.box);
        if (v >= bestIou) {
          best = j;
          bestIou = v;
        }
      });
      if (best < 0) continue;
      taken.add(best);
      matched++;
      iouSum += bestIou;
    }
  });
  return { matchedShare: matched / boxes, meanIou: matched > 0 ? iouSum / matched : 0 };
}

async function detectAll(set: FrameSet, frames: readonly Buffer[]): Promise<Detection[][]> {
  const detector = await OnnxYoloDetector.load({
    model: { path: modelPath },
    ...(set.fastShrinkOnLoad ? { fastShrinkOnLoad: true } : {}),
  });
  try {
    const items = frames.map((image) => ({ image, sourceSize: SOURCE }));
    const out: Detection[][] = [];
    for await (const outcome of detector.detectMany(items)) {
      if (outcome.error) throw outcome.error;
      out.push(outcome.detections);
    }
    return out;
  } finally {
    await detector.close();
  }
}

/** CPU ms per frame of decode + letterbox to 640, as the detector does it, one at a time. */
async function decodeCpuMs(set: FrameSet, frames: readonly Buffer[]): Promise<number> {
  const one = (image: Buffer) =>
    sharp(image, { failOn: 'error', ignoreIcc: true })
      .autoOrient()
      .removeAlpha()
      .toColourspace('srgb')
      .resize(640, 640, {
        fit: 'inside',
        kernel: 'linear',
        fastShrinkOnLoad: set.fastShrinkOnLoad ?? false,
      })
      .raw()
      .toBuffer();
  const start = process.cpuUsage();
  for (const image of frames) await one(image);
  const used = process.cpuUsage(start);
  return (used.user + used.system) / 1000 / frames.length;
}

async function main(): Promise<void> {
  if (!fs.existsSync(modelPath) || !fs.existsSync(videoPath)) {
    progress(`SKIPPED: ${modelPath} or ${videoPath} is missing (set FRAMEWISE_FIXTURES)`);
    report({ skipped: true });
    return;
  }
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'framewise-bench-frames-'));
  try {
    sharp.concurrency(1);
    const sets = SETS.map((set, i) => ({ set, frames: extract(set, path.join(work, String(i))) }));
    progress(`${sets[0]?.frames.length ?? 0} frames per set at ${config.BENCH_FPS} fps`);
    const detections = new Map<FrameSet, Detection[][]>();
    for (const { set, frames } of sets) detections.set(set, await detectAll(set, frames));
    const cpu = new Map<FrameSet, number[]>(sets.map(({ set }) => [set, []]));
    for (let r = 0; r < config.BENCH_ROUNDS; r++) {
      const order = r % 2 === 0 ? sets : [...sets].reverse();
      for (const { set, frames } of order) cpu.get(set)?.push(await decodeCpuMs(set, frames));
    }
    const reference = detections.get(REFERENCE) ?? [];
    const referenceCpu = median(cpu.get(REFERENCE) ?? []);
    const referenceBytes = sets[0]?.frames.reduce((a, f) => a + f.length, 0) ?? 1;
    const rows = sets.map(({ set, frames }) => {
      const bytes = frames.reduce((a, f) => a + f.length, 0);
      const found = detections.get(set) ?? [];
      const { matchedShare, meanIou } = agreement(reference, found);
      const cpuMs = median(cpu.get(set) ?? []);
      return {
        frames: set.name,
        kb_per_frame: round(bytes / frames.length / 1024, 1),
        boxes: found.reduce((a, d) => a + d.length, 0),
        matched_share: round(matchedShare, 3),
        mean_iou: round(meanIou, 3),
        decode_cpu_ms: round(cpuMs, 2),
        decode_cpu_ratio: round(cpuMs / referenceCpu, 2),
        bytes_ratio: round(bytes / referenceBytes, 2),
      };
    });
    console.table(rows);
    const chosen = rows[SETS.indexOf(DEFAULT)];
    report({
      frames: chosen?.frames,
      matched_share: chosen?.matched_share,
      mean_iou: chosen?.mean_iou,
      decode_cpu_ratio: chosen?.decode_cpu_ratio,
      bytes_ratio: chosen?.bytes_ratio,
      rows,
    });
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

void main();
