// The self-made model end to end, through the real onnxruntime-node and sharp.
import path from 'node:path';
import { OnnxYoloDetector, RED_SQUARE_MODEL, writeRedSquareModel } from './index';
import type { Detection } from './index';
import { boxOf, iou, redSquaresImage, tempDir } from './testing.spec-helper';
import type { Rect } from './testing.spec-helper';

const tmp = tempDir('red-square');
afterAll(() => {
  tmp.cleanup();
});

async function load(
  name: string,
  options: Parameters<typeof writeRedSquareModel>[1] = {},
  maxBatch?: number,
) {
  const file = await writeRedSquareModel(path.join(tmp.dir, `${name}.onnx`), options);
  return OnnxYoloDetector.load({
    model: { path: file },
    ...(maxBatch ? { maxBatch } : {}),
    intraOpThreads: 1,
  });
}

function expectMatches(detections: Detection[], rects: readonly Rect[], minIou: number) {
  expect(detections).toHaveLength(rects.length);
  for (const rect of rects) {
    const truth = boxOf(rect);
    const best = Math.max(...detections.map((d) => iou(d.box, truth)));
    expect(best).toBeGreaterThanOrEqual(minIou);
  }
  for (const d of detections) {
    expect(d).toMatchObject({ class: RED_SQUARE_MODEL.className, classId: 0, score: 1 });
  }
}

describe('red-square test model', () => {
  it('describes itself like an Ultralytics export', async () => {
    const detector = await load('describe', { inputSize: 320 });
    expect(detector.model).toEqual({
      task: 'detect',
      inputWidth: 320,
      inputHeight: 320,
      classNames: ['red_square'],
      anchors: 40 * 40,
      dynamicBatch: true,
      batchSize: 8,
      provider: 'cpu',
    });
    await detector.close();
  });

  it('finds squares exactly when the letterbox scale is an integer ratio (PNG, 640x480 into 320)', async () => {
    const detector = await load('exact');
    const rects = [
      { left: 40, top: 60, width: 100, height: 100 },
      { left: 400, top: 300, width: 64, height: 64 },
      { left: 0, top: 400, width: 80, height: 80 }, // touching the image edge
    ];
    const detections = await detector.detect(await redSquaresImage(640, 480, rects, 'png'));
    expectMatches(detections, rects, 0.999);
    await detector.close();
  });

  it('matches truth with IoU ≥ 0.9 after the letterbox round trip (JPEG, odd sizes, rectangles)', async () => {
    const detector = await load('roundtrip');
    const rects = [
      { left: 97, top: 33, width: 61, height: 61 },
      { left: 555, top: 211, width: 123, height: 47 },
      { left: 300, top: 500, width: 40, height: 90 },
    ];
    const detections = await detector.detect(await redSquaresImage(1001, 677, rects, 'jpeg'));
    expectMatches(detections, rects, 0.9);
    await detector.close();
  });

  it('reports boxes in the source pixels of a frame stored scaled down (sourceSize)', async () => {
    const detector = await load('source-size');
    // A 1280x720 source stored as 640x360: the squares are half size in the stored frame.
    const source = [{ left: 200, top: 120, width: 160, height: 160 }];
    const stored = [{ left: 100, top: 60, width: 80, height: 80 }];
    const frame = await redSquaresImage(640, 360, stored, 'png');
    const items = [
      { image: frame, sourceSize: { width: 1280, height: 720 } },
      { image: frame },
      // A frame turned a quarter against its stated source: boxes stay in the frame's pixels.
      { image: frame, sourceSize: { width: 720, height: 1280 } },
    ];
    const outcomes = [];
    for await (const outcome of detector.detectMany(items)) outcomes.push(outcome);
    expectMatches(outcomes[0]?.detections ?? [], source, 0.999);
    expectMatches(outcomes[1]?.detections ?? [], stored, 0.999);
    expectMatches(outcomes[2]?.detections ?? [], stored, 0.999);
    await detector.close();
  });

  it('says once when frames were stored smaller than the model input from a larger source', async () => {
    const warnings: string[] = [];
    const logger = {
      info: () => undefined,
      warn: (_: object, message: string) => warnings.push(message),
    };
    const file = await writeRedSquareModel(path.join(tmp.dir, 'undersized.onnx'));
    const detector = await OnnxYoloDetector.load({
      model: { path: file },
      intraOpThreads: 1,
      logger,
    });
    // The model's input is 320: a 160x90 image is enlarged twice by the letterbox.
    const stored = await redSquaresImage(
      160,
      90,
      [{ left: 50, top: 30, width: 40, height: 40 }],
      'png',
    );
    const items = [
      { image: stored }, // a small picture at its own size: nothing to say
      { image: stored, sourceSize: { width: 160, height: 90 } }, // a small video, not shrunk
      { image: stored, sourceSize: { width: 1280, height: 720 } },
      { image: stored, sourceSize: { width: 1280, height: 720 } },
      { image: stored, sourceSize: { width: 1280, height: 720 } },
    ];
    for await (const outcome of detector.detectMany(items)) expect(outcome.error).toBeUndefined();
    expect(warnings.filter((w) => w.includes('EXTRACT_FRAME_MAX_SIZE=320'))).toHaveLength(1);
    expect(warnings).toHaveLength(1);
    await detector.close();
  });

  it('accepts raw RGB frames', async () => {
    const detector = await load('raw');
    const rects = [{ left: 128, top: 72, width: 96, height: 96 }];
    const data = await redSquaresImage(1280, 720, rects, 'raw');
    const detections = await detector.detect({ data, width: 1280, height: 720, channels: 3 });
    expectMatches(detections, rects, 0.98);
    await detector.close();
  });

  it('runs non-square inputs and other strides', async () => {
    const detector = await load('wide', { inputSize: { width: 384, height: 224 }, stride: 4 });
    expect(detector.model).toMatchObject({ inputWidth: 384, inputHeight: 224, anchors: 56 * 96 });
    const rects = [{ left: 500, top: 300, width: 50, height: 50 }];
    expectMatches(
      await detector.detect(await redSquaresImage(1280, 720, rects, 'png')),
      rects,
      0.9,
    );
    await detector.close();
  });

  it('reports the corners as keypoints in the pose variant', async () => {
    const detector = await load('pose', { task: 'pose' });
    expect(detector.model).toMatchObject({ task: 'pose', keypoints: { count: 4, dims: 3 } });
    const [d] = await detector.detect(
      await redSquaresImage(640, 640, [{ left: 100, top: 200, width: 80, height: 80 }], 'png'),
    );
    expect(d?.keypoints).toEqual([
      { x: 100, y: 200, visibility: 1 },
      { x: 180, y: 200, visibility: 1 },
      { x: 180, y: 280, visibility: 1 },
      { x: 100, y: 280, visibility: 1 },
    ]);
    await detector.close();
  });

  it('batches a dynamic-batch model and keeps results in order', async () => {
    const detector = await load('batch', {}, 4);
    const frames = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        redSquaresImage(640, 360, [{ left: 20 + i * 50, top: 100, width: 60, height: 60 }], 'jpeg'),
      ),
    );
    const results = await detector.detectBatch(frames);
    expect(results.map((r) => Math.round(r[0]?.box.x1 ?? -1))).toEqual(
      Array.from({ length: 10 }, (_, i) => 20 + i * 50),
    );
    await detector.close();
  });

  it('feeds a fixed-batch model full batches', async () => {
    const detector = await load('fixed', { batch: 3 });
    expect(detector.model).toMatchObject({ dynamicBatch: false, batchSize: 3 });
    const frames = await Promise.all(
      [0, 1, 2, 3].map((i) =>
        redSquaresImage(320, 320, [{ left: i * 60, top: 10, width: 40, height: 40 }], 'png'),
      ),
    );
    const results = await detector.detectBatch(frames);
    expect(results.map((r) => r[0]?.box.x1)).toEqual([0, 60, 120, 180]);
    await detector.close();
  });

  it('finds nothing on an image without red', async () => {
    const detector = await load('empty');
    expect(await detector.detect(await redSquaresImage(500, 500, [], 'jpeg'))).toEqual([]);
    await detector.close();
  });

  it('the failsOnRed variant loads and runs on gray, and fails inside onnxruntime on red', async () => {
    const detector = await load('fails', { failsOnRed: true });
    expect(await detector.detect(await redSquaresImage(320, 320, [], 'png'))).toEqual([]);
    const red = await redSquaresImage(
      320,
      320,
      [{ left: 10, top: 10, width: 40, height: 40 }],
      'png',
    );
    await expect(detector.detect(red)).rejects.toThrow(/broadcast/i);
    // A failed run leaves the session usable: the next image without red runs.
    expect(await detector.detect(await redSquaresImage(320, 320, [], 'png'))).toEqual([]);
    await detector.close();
  });
});
