// Loading: bad models fail at load with a clear error; providers fall back to CPU with one log
// line (for real: this install has no CUDA/TensorRT provider libraries); detectMany pipelines.
import fs from 'node:fs';
import path from 'node:path';
import {
  buildRedSquareModel,
  DetectorClosedError,
  DetectorHungError,
  ImageInputError,
  ModelLoadError,
  OnnxYoloDetector,
  writeRedSquareModel,
} from './index';
import type { DetectItem } from './index';
import { ModelProto, OnnxDataType } from './onnx/onnx-schema';
import { recordingLogger, redSquaresImage, tempDir } from './testing.spec-helper';

const tmp = tempDir('detector');
afterAll(() => {
  tmp.cleanup();
});
const file = (name: string) => path.join(tmp.dir, name);

/** A valid ONNX model that is not a YOLO model: images in, the same images out. */
function identityModel(): Uint8Array {
  const tensor = {
    tensorType: {
      elemType: OnnxDataType.FLOAT,
      shape: { dim: [{ dimValue: 1 }, { dimValue: 3 }, { dimValue: 64 }, { dimValue: 64 }] },
    },
  };
  return ModelProto.encode(
    ModelProto.create({
      irVersion: 8,
      opsetImport: [{ domain: '', version: 13 }],
      graph: {
        name: 'identity',
        node: [{ opType: 'Identity', input: ['images'], output: ['out'], name: 'id' }],
        input: [{ name: 'images', type: tensor }],
        output: [{ name: 'out', type: tensor }],
      },
    }),
  ).finish();
}

describe('OnnxYoloDetector.load: bad models fail at load, clearly', () => {
  it('a missing file', async () => {
    const load = OnnxYoloDetector.load({ model: { path: file('nope.onnx') } });
    await expect(load).rejects.toThrow(ModelLoadError);
    await expect(load).rejects.toThrow(/model file not found: .*nope\.onnx\. Point the model path/);
  });

  it('a file that is not ONNX', async () => {
    fs.writeFileSync(file('text.onnx'), 'this is a labels file, not a model\nperson\n');
    await expect(OnnxYoloDetector.load({ model: { path: file('text.onnx') } })).rejects.toThrow(
      /text\.onnx is not an ONNX model .*Export the YOLO model to ONNX/,
    );
  });

  it('a JPEG renamed to .onnx', async () => {
    fs.writeFileSync(file('photo.onnx'), await redSquaresImage(64, 64, [], 'jpeg'));
    await expect(OnnxYoloDetector.load({ model: { path: file('photo.onnx') } })).rejects.toThrow(
      ModelLoadError,
    );
  });

  it('a truncated model', async () => {
    const bytes = buildRedSquareModel();
    fs.writeFileSync(file('truncated.onnx'), bytes.subarray(0, Math.floor(bytes.length / 2)));
    await expect(
      OnnxYoloDetector.load({ model: { path: file('truncated.onnx') } }),
    ).rejects.toThrow(ModelLoadError);
  });

  it('an ONNX model whose outputs are not YOLO-shaped', async () => {
    fs.writeFileSync(file('identity.onnx'), identityModel());
    await expect(OnnxYoloDetector.load({ model: { path: file('identity.onnx') } })).rejects.toThrow(
      /identity\.onnx is not a YOLO detect\/pose model framewise can run: first output is float32 \[1, 3, 64, 64\]/,
    );
  });
});

describe('OnnxYoloDetector.load: providers', () => {
  it('falls back from cuda and tensorrt to CPU with one warning saying why', async () => {
    const logger = recordingLogger();
    const model = await writeRedSquareModel(file('providers.onnx'));
    const detector = await OnnxYoloDetector.load({
      model: { path: model },
      executionProviders: ['tensorrt', 'cuda', 'cpu'],
      logger,
    });
    expect(detector.model.provider).toBe('cpu');
    expect(logger.lines).toHaveLength(1);
    expect(logger.lines[0]).toMatchObject({ level: 'warn', fields: { provider: 'cpu' } });
    expect(logger.lines[0]?.message).toMatch(
      /^detector runs on cpu, not tensorrt, because tensorrt: .*; cuda: .*Failed to load shared library/,
    );
    await detector.close();
  });

  it('says so in one info line when the first choice runs', async () => {
    const logger = recordingLogger();
    const model = await writeRedSquareModel(file('cpu.onnx'));
    const detector = await OnnxYoloDetector.load({
      model: { path: model },
      executionProviders: ['cpu'],
      intraOpThreads: 1,
      interOpThreads: 1,
      logger,
    });
    expect(logger.lines).toEqual([
      {
        level: 'info',
        message: 'detector runs on cpu as configured',
        fields: expect.objectContaining({ provider: 'cpu' }) as Record<string, unknown>,
      },
    ]);
    await detector.close();
  });
});

describe('OnnxYoloDetector: metadata fallbacks and lifecycle', () => {
  it('takes class names from labels when the model has no metadata', async () => {
    const model = await writeRedSquareModel(file('bare.onnx'), { metadata: false });
    const detector = await OnnxYoloDetector.load({ model: { path: model }, labels: ['square'] });
    expect(detector.model.classNames).toEqual(['square']);
    const [d] = await detector.detect(
      await redSquaresImage(320, 320, [{ left: 10, top: 10, width: 40, height: 40 }], 'png'),
    );
    expect(d?.class).toBe('square');
    await detector.close();
  });

  it('rejects undecodable images with ImageInputError, and use after close', async () => {
    const detector = await OnnxYoloDetector.load({
      model: { path: await writeRedSquareModel(file('life.onnx')) },
    });
    await expect(detector.detect(Buffer.from('not an image'))).rejects.toThrow(ImageInputError);
    await expect(
      detector.detect({ data: new Uint8Array(10), width: 4, height: 4, channels: 3 }),
    ).rejects.toThrow(/expected 4x4x3 = 48/);
    await detector.close();
    await expect(detector.detect(Buffer.from('x'))).rejects.toThrow(DetectorClosedError);
  });

  it('applies runTimeoutMs after the warm-up: loads, then a slower run fails it for good', async () => {
    // Default input 640, batch 4: the warm-up run alone takes far longer than 1 ms.
    const detector = await OnnxYoloDetector.load({
      model: { path: await writeRedSquareModel(file('hang.onnx'), { batch: 4 }) },
      runTimeoutMs: 1,
    });
    const image = await redSquaresImage(
      640,
      360,
      [{ left: 10, top: 10, width: 40, height: 40 }],
      'png',
    );
    await expect(detector.detect(image)).rejects.toThrow(DetectorHungError);
    await expect(detector.detect(image)).rejects.toThrow(DetectorHungError);
    await detector.close();
  });
});

describe('OnnxYoloDetector.detectMany', () => {
  interface Frame extends DetectItem {
    readonly n: number;
  }

  it('yields every item in order with its detections, bad images as errors, over an async source', async () => {
    const detector = await OnnxYoloDetector.load({
      model: { path: await writeRedSquareModel(file('many.onnx')) },
      maxBatch: 3,
    });
    const frames = await Promise.all(
      Array.from({ length: 8 }, (_, n) =>
        redSquaresImage(640, 360, [{ left: 10 + n * 40, top: 50, width: 50, height: 50 }], 'jpeg'),
      ),
    );
    async function* source(): AsyncGenerator<Frame> {
      for (let n = 0; n < frames.length; n++) {
        // A slow source: some items arrive later than the batch wait.
        if (n % 3 === 0) await new Promise((r) => setTimeout(r, 20));
        yield { n, image: n === 4 ? Buffer.from('corrupt') : frames[n]! };
      }
    }
    const seen: string[] = [];
    for await (const outcome of detector.detectMany(source())) {
      seen.push(
        outcome.error
          ? `${outcome.item.n}:error`
          : `${outcome.item.n}:${Math.round(outcome.detections[0]?.box.x1 ?? -1)}`,
      );
    }
    expect(seen).toEqual(['0:10', '1:50', '2:90', '3:130', '4:error', '5:210', '6:250', '7:290']);
    await detector.close();
  });

  it.each([
    ['a fixed batch of 2', { batch: 2 }, {}],
    ['a dynamic batch, one image a run', {}, { maxBatch: 1 }],
    // Batches of 4, 4 and 1: the partial batch's output goes into a full batch's buffer.
    ['a dynamic batch of up to 4, the last one partial', {}, { maxBatch: 4 }],
  ])(
    'hands each run the output buffer of an earlier one (%s), with the right detections',
    async (_name, model, options) => {
      const detector = await OnnxYoloDetector.load({
        model: { path: await writeRedSquareModel(file(`reuse-${_name.length}.onnx`), model) },
        ...options,
      });
      // A square in a different place in every frame: a stale output would show the wrong one.
      const frames = await Promise.all(
        Array.from({ length: 9 }, (_, n) =>
          redSquaresImage(640, 360, [{ left: 10 + n * 30, top: 40, width: 50, height: 50 }], 'png'),
        ),
      );
      const seen: number[] = [];
      for await (const outcome of detector.detectMany(frames.map((image) => ({ image })))) {
        seen.push(Math.round(outcome.detections?.[0]?.box.x1 ?? -1));
      }
      expect(seen).toEqual(frames.map((_, n) => 10 + n * 30));
      // Every run but perhaps the second reuses a buffer: the warm-up's output serves the
      // first, and the second is usually handed over while the first still runs, before any
      // other is free (on a loaded host the first may be done and decoded by then).
      const stats = detector.stats();
      expect(stats.batches).toBeGreaterThan(2);
      expect(stats.reusedOutputs).toBeGreaterThanOrEqual(stats.batches - 1);
      expect(stats.reusedOutputs).toBeLessThanOrEqual(stats.batches);
      await detector.close();
    },
  );

  it('counts in inputWaitMs the time it waits for input that inference did not hide', async () => {
    const detector = await OnnxYoloDetector.load({
      model: { path: await writeRedSquareModel(file('wait.onnx'), { inputSize: 64 }) },
      maxBatch: 1,
    });
    const image = await redSquaresImage(64, 64, [], 'png');
    // The source makes every item after the first take 60 ms, far longer than a 64x64 run.
    async function* source(): AsyncGenerator<DetectItem> {
      for (let n = 0; n < 4; n++) {
        if (n > 0) await new Promise((r) => setTimeout(r, 60));
        yield { image };
      }
    }
    const before = detector.stats();
    let count = 0;
    for await (const outcome of detector.detectMany(source())) {
      expect(outcome.detections).toEqual([]);
      count++;
    }
    const after = detector.stats();
    expect(count).toBe(4);
    expect(after.images - before.images).toBe(4);
    // 3 slow items: at least 3 x 60 ms minus what the runs overlapped (a few ms each).
    expect(after.inputWaitMs - before.inputWaitMs).toBeGreaterThan(120);
    await detector.close();
  });

  it('runs with intra-op spinning on and off (the session option onnxruntime accepts)', async () => {
    const model = await writeRedSquareModel(file('spin.onnx'), { inputSize: 64 });
    const image = await redSquaresImage(
      64,
      64,
      [{ left: 8, top: 8, width: 24, height: 24 }],
      'png',
    );
    for (const intraOpSpinning of [true, false]) {
      const detector = await OnnxYoloDetector.load({
        model: { path: model },
        intraOpThreads: 2,
        intraOpSpinning,
      });
      const [found] = await detector.detect(image);
      expect(found?.box).toEqual({ x1: 8, y1: 8, x2: 32, y2: 32 });
      await detector.close();
    }
  });

  it('yields a finished batch while the source is still waiting for its next item', async () => {
    const detector = await OnnxYoloDetector.load({
      model: { path: await writeRedSquareModel(file('pause.onnx'), { inputSize: 64 }) },
      maxBatch: 1,
    });
    const image = await redSquaresImage(64, 64, [], 'png');
    // Like a worker's queue running dry: one item, then nothing until released.
    let release = (): void => undefined;
    const paused = new Promise<void>((resolve) => {
      release = resolve;
    });
    async function* source(): AsyncGenerator<DetectItem> {
      yield { image };
      await paused;
      yield { image };
    }
    const stream = detector.detectMany(source());
    const first = await stream.next();
    expect(first.done).toBe(false);
    release();
    expect((await stream.next()).done).toBe(false);
    expect((await stream.next()).done).toBe(true);
    await detector.close();
  });

  it('stops the source when the consumer stops early', async () => {
    const detector = await OnnxYoloDetector.load({
      model: { path: await writeRedSquareModel(file('stop.onnx')) },
      maxBatch: 2,
    });
    const image = await redSquaresImage(64, 64, [], 'png');
    let closed = false;
    function* source(): Generator<DetectItem> {
      try {
        for (;;) yield { image };
      } finally {
        closed = true;
      }
    }
    let count = 0;
    for await (const outcome of detector.detectMany(source())) {
      expect(outcome.detections).toEqual([]);
      if (++count === 3) break;
    }
    expect(closed).toBe(true);
    await detector.close();
  });
});
