// `npm run bench:detector` — frames/s of the detector's full per-frame path (read JPEG from
// disk → decode + letterbox → session.run → decode + NMS, through detectMany so the next frame is
// resized while the current one runs) against a bare `session.run` loop on one prepared tensor:
// the hardware limit for this model. Same model, same thread settings, same process, rounds
// interleaved. Last stdout line: JSON with `efficiency` = ours / bare.
//
// Model: ../shared/fixtures/models/yolov8n-int8.onnx (or FRAMEWISE_FIXTURES); without fixtures,
// the self-made red-square model at 640 on generated JPEGs. Batch 1 vs 8 is measured on a
// dynamic-batch model (the fixture model has a fixed batch of 1, so the red-square model).
// Settings: BENCH_FRAMES (frames per round, default 12), BENCH_ROUNDS (default 9),
// BENCH_THREADS (onnxruntime intra-op threads, default: all cores).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import sharp from 'sharp';
import { int, loadConfig, text, z } from '@framewise/config';
import { OnnxYoloDetector, letterboxGeometry, writeRedSquareModel } from '@framewise/detector';
import type { DetectorStats } from '@framewise/detector';
import { median, progress, report, round, timeMs } from './support';

const schema = z.object({
  BENCH_FRAMES: int({ min: 1, default: 12 }),
  BENCH_ROUNDS: int({ min: 1, default: 9 }),
  BENCH_THREADS: int({ min: 1, default: os.availableParallelism() }),
  FRAMEWISE_FIXTURES: text({ default: path.join(__dirname, '..', '..', 'shared', 'fixtures') }),
});
// eslint-disable-next-line no-restricted-properties -- this script is an entry point, like main.ts
const config = loadConfig(schema, process.env, { service: 'bench-detector' });
const frames = config.BENCH_FRAMES;
const rounds = config.BENCH_ROUNDS;
const threads = config.BENCH_THREADS;
const sessionSettings = { intraOpThreads: threads, interOpThreads: 1 };
const fixtures = path.resolve(config.FRAMEWISE_FIXTURES);
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'framewise-bench-detector-'));

/** A float32 [batch, 3, H, W] letterboxed tensor of `jpeg`, made once for the bare loop. */
async function preparedTensor(
  jpeg: Buffer,
  width: number,
  height: number,
  batch: number,
): Promise<ort.Tensor> {
  const meta = await sharp(jpeg).metadata();
  const g = letterboxGeometry(meta.width, meta.height, width, height);
  const { data } = await sharp(jpeg)
    .removeAlpha()
    .resize(g.resizedWidth, g.resizedHeight, { fit: 'fill', kernel: 'linear' })
    .raw()
    .toBuffer({ resolveWithObject: true });
  const plane = width * height;
  const chw = new Float32Array(batch * 3 * plane).fill(114 / 255);
  for (let b = 0; b < batch; b++) {
    for (let y = 0; y < g.resizedHeight; y++) {
      for (let x = 0; x < g.resizedWidth; x++) {
        const src = (y * g.resizedWidth + x) * 3;
        const dst = b * 3 * plane + (y + g.top) * width + x + g.left;
        for (let c = 0; c < 3; c++) chw[dst + c * plane] = (data[src + c] ?? 0) / 255;
      }
    }
  }
  return new ort.Tensor('float32', chw, [batch, 3, height, width]);
}

/** Frames/s of a bare session.run loop over `runs` runs of `tensor`. */
async function bareFps(
  session: ort.InferenceSession,
  tensor: ort.Tensor,
  runs: number,
): Promise<number> {
  const input = session.inputNames[0] ?? 'images';
  const ms = await timeMs(async () => {
    for (let i = 0; i < runs; i++) await session.run({ [input]: tensor });
  });
  return (runs * (tensor.dims[0] ?? 1) * 1000) / ms;
}

/** Frames/s of the detector over `count` frames read from `files` in turn. */
async function oursFps(
  detector: OnnxYoloDetector,
  files: string[],
  count: number,
): Promise<number> {
  async function* source() {
    for (let i = 0; i < count; i++) {
      yield { image: await fs.promises.readFile(files[i % files.length] ?? '') };
    }
  }
  const ms = await timeMs(async () => {
    for await (const outcome of detector.detectMany(source())) {
      if (outcome.error) throw outcome.error;
    }
  });
  return (count * 1000) / ms;
}

function split(before: DetectorStats, after: DetectorStats) {
  const n = after.images - before.images;
  const per = (key: keyof DetectorStats) => round((after[key] - before[key]) / n, 2);
  return {
    resizeMsPerFrame: per('resizeMs'),
    copyMsPerFrame: per('copyMs'),
    inferenceMsPerFrame: per('inferenceMs'),
    decodeMsPerFrame: per('decodeMs'),
  };
}

async function main(): Promise<void> {
  const realModel = path.join(fixtures, 'models', 'yolov8n-int8.onnx');
  const haveFixtures = fs.existsSync(realModel);
  let modelFile: string;
  let files: string[];
  if (haveFixtures) {
    modelFile = realModel;
    files = ['bus.jpg', 'zidane.jpg'].map((f) => path.join(fixtures, 'images', f));
  } else {
    progress(`fixtures not found at ${fixtures}: benchmarking the red-square model instead`);
    modelFile = await writeRedSquareModel(path.join(work, 'red-640.onnx'), { inputSize: 640 });
    files = [];
    for (const [w, h] of [
      [1280, 720],
      [810, 1080],
    ] as const) {
      const file = path.join(work, `${w}x${h}.jpg`);
      await sharp({ create: { width: w, height: h, channels: 3, background: '#3080c0' } })
        .jpeg()
        .toFile(file);
      files.push(file);
    }
  }
  progress(
    `model ${path.basename(modelFile)}, ${threads} intra-op thread(s), ${frames} frames x ${rounds} rounds`,
  );

  const detector = await OnnxYoloDetector.load({ model: { path: modelFile }, ...sessionSettings });
  const { inputWidth: W, inputHeight: H } = detector.model;
  const session = await ort.InferenceSession.create(modelFile, {
    graphOptimizationLevel: 'all',
    intraOpNumThreads: sessionSettings.intraOpThreads,
    interOpNumThreads: sessionSettings.interOpThreads,
    executionProviders: ['cpu'],
  });
  const tensor = await preparedTensor(fs.readFileSync(files[0] ?? ''), W, H, 1);
  await bareFps(session, tensor, 2); // warm-up

  const bare: number[] = [];
  const ours: number[] = [];
  const before = detector.stats();
  for (let r = 0; r < rounds; r++) {
    bare.push(await bareFps(session, tensor, frames));
    ours.push(await oursFps(detector, files, frames));
    progress(`round ${r + 1}: bare ${round(bare[r] ?? 0)} fps, ours ${round(ours[r] ?? 0)} fps`);
  }
  const timeSplit = split(before, detector.stats());
  await detector.close();
  await session.release();

  // Batch 1 vs 8 on a dynamic-batch model (bare runs: the model's own scaling).
  const batchModel = await writeRedSquareModel(path.join(work, 'red-batch.onnx'), {
    inputSize: 640,
  });
  const batchSession = await ort.InferenceSession.create(batchModel, {
    intraOpNumThreads: sessionSettings.intraOpThreads,
    interOpNumThreads: sessionSettings.interOpThreads,
  });
  const jpeg = fs.readFileSync(files[0] ?? '');
  const t1 = await preparedTensor(jpeg, 640, 640, 1);
  const t8 = await preparedTensor(jpeg, 640, 640, 8);
  await bareFps(batchSession, t8, 1);
  const b1: number[] = [];
  const b8: number[] = [];
  for (let r = 0; r < rounds; r++) {
    b1.push(await bareFps(batchSession, t1, 8));
    b8.push(await bareFps(batchSession, t8, 1));
  }
  await batchSession.release();
  fs.rmSync(work, { recursive: true, force: true });

  const oursFpsMedian = median(ours);
  const bareFpsMedian = median(bare);
  const result = {
    bench: 'detector',
    model: path.basename(modelFile),
    input: `${W}x${H}`,
    threads,
    frames,
    rounds,
    oursFps: round(oursFpsMedian),
    bareFps: round(bareFpsMedian),
    // Paired per round: on a shared machine the load changes between rounds, and a ratio of
    // medians taken from different rounds can even exceed 1.
    efficiency: round(median(ours.map((o, r) => o / (bare[r] ?? o))), 3),
    efficiencyPerRound: ours.map((o, r) => round(o / (bare[r] ?? o), 3)),
    ...timeSplit,
    batchModel: 'red-square 640 (dynamic batch)',
    batch1Fps: round(median(b1)),
    batch8Fps: round(median(b8)),
    fixtureModelBatch: 'fixed 1 (batch 8 not possible)',
  };
  progress(
    [
      '',
      '| path | frames/s (median) |',
      '|---|---|',
      `| bare session.run, prepared tensor | ${result.bareFps} |`,
      `| ours: read JPEG → letterbox → run → decode (detectMany) | ${result.oursFps} |`,
      `| efficiency (median of per-round ours/bare) | ${result.efficiency} |`,
      `| split per frame (ms): resize ${timeSplit.resizeMsPerFrame} (overlapped), copy ${timeSplit.copyMsPerFrame}, run ${timeSplit.inferenceMsPerFrame}, decode ${timeSplit.decodeMsPerFrame} | |`,
      `| red-square 640, batch 1 / batch 8 (bare) | ${result.batch1Fps} / ${result.batch8Fps} |`,
      '',
    ].join('\n'),
  );
  report(result);
}

main().catch((error: unknown) => {
  fs.rmSync(work, { recursive: true, force: true });
  process.stderr.write(
    `${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exitCode = 1;
});
