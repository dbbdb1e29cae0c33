import fs from 'node:fs';
import { YoloDecoder } from './decode';
import type { DecodeThresholds } from './decode';
import type {
  DetectItem,
  DetectOptions,
  DetectOutcome,
  Detection,
  Detector,
  ExecutionProviderName,
  ImageInput,
  ModelDescription,
} from './detector';
import { BatchReader, toAsyncIterator } from './batch-reader';
import { DetectorClosedError, ImageInputError, ModelLoadError } from './errors';
import type { InferenceThread, ThreadRunResult, ValueMetadata } from './inference-thread';
import { readOnnxHeader, yoloModelSpec } from './model-info';
import { scaledToSource } from './letterbox';
import type { LetterboxGeometry } from './letterbox';
import type { YoloModelSpec } from './model-info';
import { resolveModelFile } from './model-source';
import type { ModelSource } from './model-source';
import { InputSlot, resizeForInput } from './preprocess';
import type { PreprocessOptions, ResizedImage } from './preprocess';
import { openSession } from './providers';
import { lowerHelperThreadPriority } from './thread-priority';
import type { SessionSettings } from './providers';

/** The logging the detector does: one line at load saying which provider runs and why. */
export interface DetectorLogger {
  info(fields: Record<string, unknown>, message: string): void;
  warn(fields: Record<string, unknown>, message: string): void;
}

/** Configuration of an {@link OnnxYoloDetector}; main.ts builds it from the service config. */
export interface OnnxYoloDetectorOptions extends SessionSettings, PreprocessOptions {
  /** The model: a path, or a URL + sha256 + cache directory. */
  readonly model: ModelSource;
  /** Class names when the model has no `names` metadata (one per line in a labels file). */
  readonly labels?: readonly string[];
  /** Providers in order of preference; CPU is always the last resort. Default `['cpu']`. */
  readonly executionProviders?: readonly ExecutionProviderName[];
  /** Images per inference for models with a dynamic batch axis. Default 8. */
  readonly maxBatch?: number;
  /** Default thresholds (Ultralytics defaults: conf 0.25, iou 0.7, max_det 300). */
  readonly confidence?: number;
  readonly iou?: number;
  readonly maxDetections?: number;
  /**
   * Linux, CPU inference: the nice value (1–19, a lower CPU priority) for the process's helper
   * threads — libuv's pool and libvips' workers, where images are decoded and resized, and
   * V8's — so that they use the cores onnxruntime leaves idle instead of slowing its operators
   * down. The JS thread and the inference threads keep their priority. Process-wide: meant for
   * a process whose job is detection (the worker). Default 0: leave priorities alone.
   */
  readonly helperThreadNice?: number;
  /** Run one inference at load so the first frame does not pay for lazy initialisation. Default true. */
  readonly warmup?: boolean;
  /**
   * After the warm-up (which may take long: engine builds), a run that takes longer than this
   * fails the detector for good with a `DetectorHungError`, so a caller whose session
   * hung (a lost GPU) learns it instead of waiting forever. Default 0: no limit.
   */
  readonly runTimeoutMs?: number;
  /**
   * detectMany: after the first image of a batch, how long to wait for more before running a
   * partial batch. Default 0: take only what the source has ready, never hold frames back.
   */
  readonly batchWaitMs?: number;
  readonly logger?: DetectorLogger;
}

/**
 * Cumulative timings since load (warm-up excluded), for metrics and benchmarks. `resizeMs` is wall
 * time of decode + resize per batch, from queueing to result (on libuv's pool, overlapping
 * inference); `copyMs` (HWC→CHW float copy) and `decodeMs` (decode + NMS) run on the JS thread
 * while the inference thread runs other batches; `inferenceMs` is time inside `session.run` on
 * the inference thread. `inputWaitMs` is how long the inference thread sat idle waiting for its
 * next batch (idle gaps between runs within a stream): the part of input preparation that
 * inference did NOT hide (near 0 when the overlap works). `reusedOutputs` counts the runs whose
 * output onnxruntime wrote into the buffer of an earlier, already decoded output.
 */
export interface DetectorStats {
  images: number;
  batches: number;
  resizeMs: number;
  copyMs: number;
  inferenceMs: number;
  decodeMs: number;
  inputWaitMs: number;
  reusedOutputs: number;
}

function zeroStats(): DetectorStats {
  return {
    images: 0,
    batches: 0,
    resizeMs: 0,
    copyMs: 0,
    inferenceMs: 0,
    decodeMs: 0,
    inputWaitMs: 0,
    reusedOutputs: 0,
  };
}

/** Free output buffers kept: one per batch that can be in flight, and one to spare. */
const MAX_FREE_OUTPUTS = 3;

const noopLogger: DetectorLogger = { info: () => undefined, warn: () => undefined };

/**
 * A batch buffer: the input tensor's data and one slot per image. While a run has it, its memory
 * is on the inference thread (transferred, not copied) and comes back with the result.
 */
class BatchBuffer {
  private data: ArrayBuffer;
  readonly slots: InputSlot[];

  constructor(
    private readonly imageFloats: number,
    size: number,
    width: number,
    height: number,
  ) {
    this.data = new ArrayBuffer(size * imageFloats * Float32Array.BYTES_PER_ELEMENT);
    this.slots = Array.from(
      { length: size },
      (_, i) => new InputSlot(this.planesOf(i), width, height),
    );
  }

  /** Hands the memory over (to transfer it to the inference thread). */
  take(): ArrayBuffer {
    return this.data;
  }

  /** Takes the memory back after a run; the slots' pixels and padding are as they were. */
  restore(data: ArrayBuffer): void {
    this.data = data;
    this.slots.forEach((slot, i) => {
      slot.rebind(this.planesOf(i));
    });
  }

  private planesOf(i: number): Float32Array {
    return new Float32Array(this.data, i * this.imageFloats * 4, this.imageFloats);
  }
}

/** A batch handed to the inference thread: its run, and the buffer to give back after it. */
interface SubmittedBatch<T extends DetectItem> {
  readonly prepared: PreparedBatch<T>;
  /** Whether the thread's idle time before this run counts as input wait (not a stream's first batch). */
  readonly countIdle: boolean;
  /** The run's output; undefined when no image of the batch decoded (nothing to run). */
  readonly output: Promise<ThreadRunResult> | undefined;
}

/** A batch whose images are decoded and resized (or failed), ready to copy and run. */
interface PreparedBatch<T extends DetectItem> {
  readonly items: readonly T[];
  readonly resized: readonly (ResizedImage | ImageInputError)[];
}

/**
 * {@link Detector} for Ultralytics YOLOv8 / YOLO11 ONNX models (detect and pose) on
 * onnxruntime-node. Create it with {@link OnnxYoloDetector.load}, which validates the model and
 * warms it up: a bad model fails there with a {@link ModelLoadError}, never at the first frame.
 */
export class OnnxYoloDetector implements Detector {
  private readonly decoder: YoloDecoder;
  private readonly freeBuffers: BatchBuffer[] = [];
  /**
   * Output buffers of decoded batches, offered to the next runs. Without them every run hands
   * this thread a new output buffer (2.8 MB for YOLOv8n at 640), and that churn of memory
   * outside the heap is what sets V8's collector going: the worker measured a young-generation
   * collection every ~8 frames and a full one every ~40, "external memory pressure".
   */
  private readonly freeOutputs: ArrayBuffer[] = [];
  private readonly thresholds: DecodeThresholds;
  private readonly batchSize: number;
  private closed = false;
  private readonly counters: DetectorStats = zeroStats();
  /** Whether the "stored smaller than the model's input" warning was given (it is, once). */
  private warnedUndersized = false;

  private constructor(
    private readonly thread: InferenceThread,
    private readonly spec: YoloModelSpec,
    readonly model: ModelDescription,
    private readonly options: OnnxYoloDetectorOptions,
  ) {
    this.decoder = new YoloDecoder(
      {
        channels: spec.channels,
        anchors: spec.anchors,
        numClasses: spec.classNames.length,
        ...(spec.keypoints ? { keypoints: spec.keypoints } : {}),
      },
      spec.classNames,
    );
    this.batchSize = model.batchSize;
    this.thresholds = {
      confidence: options.confidence ?? 0.25,
      iou: options.iou ?? 0.7,
      maxDetections: options.maxDetections ?? 300,
      maxCandidates: 30_000,
    };
  }

  /** Resolves (or downloads) the model, opens it on the best available provider, checks it is a YOLO model, warms it up. */
  static async load(options: OnnxYoloDetectorOptions): Promise<OnnxYoloDetector> {
    const file = await resolveModelFile(options.model);
    let bytes: Buffer;
    try {
      bytes = fs.readFileSync(file);
    } catch (error) {
      throw new ModelLoadError(
        `cannot read model file ${file}: ${(error as Error).message}`,
        file,
        { cause: error },
      );
    }
    const header = readOnnxHeader(bytes);
    if (!header.ok) {
      throw new ModelLoadError(
        `${file} is not an ONNX model (${header.reason}). Export the YOLO model to ONNX (yolo export format=onnx) and point the model path at the .onnx file.`,
        file,
      );
    }

    const preferences = options.executionProviders ?? ['cpu'];
    let opened;
    try {
      opened = await openSession(bytes, preferences, options);
    } catch (error) {
      throw new ModelLoadError(
        `onnxruntime cannot load ${file}: ${(error as Error).message}`,
        file,
        { cause: error },
      );
    }
    const { thread, provider, skipped } = opened;

    const inputs = opened.inputs.map(tensorInfo);
    const outputs = opened.outputs.map(tensorInfo);
    const result = yoloModelSpec(inputs, outputs, header.metadata, options.labels);
    if (!result.spec) {
      await thread.close();
      throw new ModelLoadError(
        `${file} is not a YOLO detect/pose model framewise can run: ${result.problem}.`,
        file,
      );
    }
    const spec = result.spec;
    const logger = options.logger ?? noopLogger;
    const fields = { provider, model: file, requested: preferences };
    if (skipped.length > 0) {
      const why = skipped.map((s) => `${s.provider}: ${s.reason}`).join('; ');
      logger.warn(
        { ...fields, skipped },
        `detector runs on ${provider}, not ${preferences[0] ?? 'cpu'}, because ${why} (see libs/detector/README.md, GPU providers)`,
      );
    } else {
      logger.info(fields, `detector runs on ${provider} as configured`);
    }

    const description: ModelDescription = {
      task: spec.task,
      inputWidth: spec.inputWidth,
      inputHeight: spec.inputHeight,
      classNames: spec.classNames,
      anchors: spec.anchors,
      ...(spec.keypoints ? { keypoints: spec.keypoints } : {}),
      dynamicBatch: spec.fixedBatch === undefined,
      batchSize: spec.fixedBatch ?? Math.max(1, options.maxBatch ?? 8),
      provider,
    };
    const detector = new OnnxYoloDetector(thread, spec, description, options);
    if (options.warmup ?? true) {
      try {
        await detector.warmUp();
      } catch (error) {
        await thread.close();
        throw new ModelLoadError(
          `${file} loads but fails to run: ${(error as Error).message}`,
          file,
          { cause: error },
        );
      }
    }
    thread.setRunTimeout(options.runTimeoutMs ?? 0);
    // After the warm-up: libuv's pool and a libvips worker exist by then (they are started
    // lazily), and libvips workers started later inherit their starter's priority.
    const nice = options.helperThreadNice ?? 0;
    if (nice > 0 && provider === 'cpu') {
      const lowered = lowerHelperThreadPriority(opened.threadIds, Math.min(19, nice));
      logger.info(
        { nice, lowered, inferenceThreads: opened.threadIds.length },
        'helper threads run at a lower priority than inference',
      );
    }
    return detector;
  }

  async detect(image: ImageInput, options?: DetectOptions): Promise<Detection[]> {
    const [detections] = await this.detectBatch([image], options);
    return detections ?? [];
  }

  async detectBatch(
    images: readonly ImageInput[],
    options?: DetectOptions,
  ): Promise<Detection[][]> {
    this.assertOpen();
    const results: Detection[][] = [];
    for (let start = 0; start < images.length; start += this.batchSize) {
      const chunk = images.slice(start, start + this.batchSize).map((image) => ({ image }));
      const prepared = await this.prepare(chunk);
      const failed = prepared.resized.findIndex((r) => r instanceof ImageInputError);
      if (failed >= 0) {
        const error = prepared.resized[failed] as ImageInputError;
        throw new ImageInputError(`image ${start + failed}: ${error.message}`, { cause: error });
      }
      for (const outcome of await this.finish(this.submit(prepared), options)) {
        results.push(outcome.detections ?? []);
      }
    }
    return results;
  }

  /**
   * Detections for a stream of items, yielded in input order. Three things overlap: the next
   * batch is read from `source`, decoded and resized on libuv's pool; the inference thread runs
   * the batches handed to it back to back; and this thread copies the next batch into its
   * tensor and decodes the previous batch's output meanwhile. A batch is handed over as soon as
   * it is ready, so the inference thread has the next one queued when it finishes the current.
   * An image that cannot be decoded yields an outcome with `error` instead of ending the stream.
   */
  async *detectMany<T extends DetectItem>(
    source: AsyncIterable<T> | Iterable<T>,
    options?: DetectOptions,
  ): AsyncGenerator<DetectOutcome<T>, void, undefined> {
    this.assertOpen();
    const reader = new BatchReader(
      toAsyncIterator(source),
      this.batchSize,
      this.options.batchWaitMs ?? 0,
    );
    let inFlight: SubmittedBatch<T> | undefined;
    let first = true;
    try {
      let next = this.prepareNext(reader);
      for (;;) {
        // A batch whose run ended is decoded and yielded at once unless the next batch is ready
        // to be handed over first: a source that pauses (an empty queue) must not hold back
        // results already computed.
        if (inFlight && (await firstSettled(next.batch, inFlight.output)) === 'second') {
          const done = inFlight;
          inFlight = undefined;
          yield* await this.finish(done, options);
          continue;
        }
        const prepared = await next.batch;
        if (!prepared) break;
        next = this.prepareNext(reader);
        // If the consumer stops early, the prefetch's failure must not surface as unhandled.
        next.batch.catch(() => undefined);
        const submitted = this.submit(prepared, !first);
        first = false;
        if (inFlight) {
          const previous = inFlight;
          inFlight = submitted;
          yield* await this.finish(previous, options);
        } else {
          inFlight = submitted;
        }
      }
      if (inFlight) {
        const last = inFlight;
        inFlight = undefined;
        yield* await this.finish(last, options);
      }
    } finally {
      // A batch still running when the consumer stops (or a run failed): its result is dropped.
      inFlight?.output?.catch(() => undefined);
      await reader.close();
    }
  }

  /** A copy of the cumulative timings (see {@link DetectorStats}). */
  stats(): DetectorStats {
    return { ...this.counters };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.thread.close();
  }

  /**
   * Reads the next batch from `reader` and starts decoding it; `batch` resolves once its images
   * are resized.
   */
  private prepareNext<T extends DetectItem>(
    reader: BatchReader<T>,
  ): { batch: Promise<PreparedBatch<T> | undefined> } {
    const items = reader.next();
    const batch = items.then((list) => (list ? this.prepare(list) : undefined));
    return { batch };
  }

  /** Decodes and resizes a batch; all images are queued on libuv's pool at once. */
  private async prepare<T extends DetectItem>(items: readonly T[]): Promise<PreparedBatch<T>> {
    const { inputWidth: w, inputHeight: h } = this.spec;
    const start = performance.now();
    const resized = await Promise.all(
      items.map((item) =>
        resizeForInput(item.image, w, h, this.options).then(
          (image) => {
            if (item.sourceSize === undefined) return image;
            this.warnIfUndersized(image.geometry, item.sourceSize);
            return { ...image, geometry: scaledToSource(image.geometry, item.sourceSize) };
          },
          (error: unknown) =>
            error instanceof ImageInputError
              ? error
              : new ImageInputError((error as Error).message, { cause: error }),
        ),
      ),
    );
    this.counters.resizeMs += performance.now() - start;
    return { items, resized };
  }

  /**
   * Copies a prepared batch into an input buffer and queues its run on the inference thread.
   * The buffer goes back to the pool when the run settles (the thread no longer reads it).
   */
  private submit<T extends DetectItem>(
    prepared: PreparedBatch<T>,
    countIdle = false,
  ): SubmittedBatch<T> {
    this.assertOpen();
    // Only images that decoded go into the tensor.
    const good = prepared.resized.filter((r): r is ResizedImage => !(r instanceof ImageInputError));
    if (good.length === 0) return { prepared, countIdle, output: undefined };
    const { inputWidth: w, inputHeight: h, fixedBatch } = this.spec;
    const buffer = this.acquireBuffer();
    const copyStart = performance.now();
    good.forEach((image, i) => {
      buffer.slots[i]?.write(image.pixels, image.channels, image.geometry);
    });
    this.counters.copyMs += performance.now() - copyStart;
    // A fixed-batch model always gets its full batch; unused slots keep old pixels and their
    // results are ignored.
    const n = fixedBatch ?? good.length;
    const output = this.thread
      .run({
        inputName: this.spec.inputName,
        outputName: this.spec.outputName,
        input: buffer.take(),
        dims: [n, 3, h, w],
        ...this.takeOutputBuffer([n, this.spec.channels, this.spec.anchors]),
      })
      .then((result) => {
        // A failed run keeps the memory; the pool makes a new buffer when it needs one.
        buffer.restore(result.input);
        this.freeBuffers.push(buffer);
        return result;
      });
    return { prepared, countIdle, output };
  }

  /** Waits for a submitted batch's run and decodes every image of it. */
  private async finish<T extends DetectItem>(
    submitted: SubmittedBatch<T>,
    options: DetectOptions | undefined,
  ): Promise<DetectOutcome<T>[]> {
    const { prepared } = submitted;
    const thresholds: DecodeThresholds = {
      confidence: options?.confidence ?? this.thresholds.confidence,
      iou: options?.iou ?? this.thresholds.iou,
      maxDetections: options?.maxDetections ?? this.thresholds.maxDetections,
      maxCandidates: this.thresholds.maxCandidates,
    };
    const run = submitted.output ? await submitted.output : undefined;
    if (run) {
      this.counters.inferenceMs += run.runMs;
      if (submitted.countIdle) this.counters.inputWaitMs += run.idleMs;
      if (run.reusedOutput) this.counters.reusedOutputs += 1;
    }
    const output = run?.data;
    const start = performance.now();
    let k = 0;
    const outcomes = prepared.items.map((item, i): DetectOutcome<T> => {
      const resized = prepared.resized[i];
      if (resized instanceof ImageInputError) return { item, error: resized };
      const detections =
        output && resized ? this.decoder.decode(output, k++, resized.geometry, thresholds) : [];
      return { item, detections };
    });
    this.counters.decodeMs += performance.now() - start;
    // Decoded: nothing refers to the output any more, so its buffer can take a later one.
    if (output && this.freeOutputs.length < MAX_FREE_OUTPUTS) this.freeOutputs.push(output.buffer);
    this.counters.images += prepared.items.length;
    this.counters.batches += 1;
    return outcomes;
  }

  /**
   * An image stored smaller than the model's input although its source was larger (frames
   * extracted at 640 for a 1280 model) is enlarged again by the letterbox: the detail is lost
   * for good. Said once, with what to change.
   */
  private warnIfUndersized(
    geometry: LetterboxGeometry,
    source: { readonly width: number; readonly height: number },
  ): void {
    const enlarged = geometry.gain > 1;
    const sourceWasLarger = source.width > geometry.srcWidth || source.height > geometry.srcHeight;
    if (this.warnedUndersized || !enlarged || !sourceWasLarger) return;
    this.warnedUndersized = true;
    (this.options.logger ?? noopLogger).warn(
      {
        stored: `${geometry.srcWidth}x${geometry.srcHeight}`,
        source: `${source.width}x${source.height}`,
        modelInput: `${this.spec.inputWidth}x${this.spec.inputHeight}`,
      },
      'images are stored smaller than the model input although their source is larger, so ' +
        'they are enlarged again and detections lose detail: store them at the model input ' +
        `size (framewise: EXTRACT_FRAME_MAX_SIZE=${Math.max(this.spec.inputWidth, this.spec.inputHeight)} on the extractor)`,
    );
  }

  /**
   * A free buffer for an output of `outputDims`, if there is one. A larger one serves too (a
   * dynamic-batch model's partial batch: the output fills its first bytes, and the whole buffer
   * comes back for a later full batch); smaller ones, from partial batches, are dropped.
   */
  private takeOutputBuffer(outputDims: readonly number[]): {
    output?: ArrayBuffer;
    outputDims?: readonly number[];
  } {
    const bytes = outputDims.reduce((a, b) => a * b, Float32Array.BYTES_PER_ELEMENT);
    for (let buffer = this.freeOutputs.pop(); buffer; buffer = this.freeOutputs.pop()) {
      if (buffer.byteLength >= bytes) return { output: buffer, outputDims };
    }
    return {};
  }

  /** Input buffers are reused; a second one exists only while two batches overlap. */
  private acquireBuffer(): BatchBuffer {
    const { inputWidth: w, inputHeight: h } = this.spec;
    return this.freeBuffers.pop() ?? new BatchBuffer(3 * w * h, this.batchSize, w, h);
  }

  private async warmUp(): Promise<void> {
    const { inputWidth: w, inputHeight: h } = this.spec;
    const gray = new Uint8Array(w * h * 3).fill(114);
    // A full batch: onnxruntime sizes its arenas for the largest batch it has seen.
    const images = Array.from({ length: this.batchSize }, () => ({
      image: { data: gray, width: w, height: h, channels: 3 as const },
    }));
    await this.finish(this.submit(await this.prepare(images)), undefined);
    // Warm-up is not work done for anyone.
    Object.assign(this.counters, zeroStats());
  }

  private assertOpen(): void {
    if (this.closed) throw new DetectorClosedError('the detector is closed; load a new one');
  }
}

function tensorInfo(m: ValueMetadata): {
  name: string;
  type: string;
  shape: readonly (number | string)[];
} {
  return m.isTensor
    ? { name: m.name, type: m.type ?? 'unknown', shape: m.shape ?? [] }
    : { name: m.name, type: 'non-tensor', shape: [] };
}

/**
 * Which of two promises settles first (either way), preferring `first` when both already have.
 * An undefined `second` counts as settled.
 */
async function firstSettled(
  first: Promise<unknown>,
  second: Promise<unknown> | undefined,
): Promise<'first' | 'second'> {
  const settled = (p: Promise<unknown>, which: 'first' | 'second') =>
    p.then(
      () => which,
      () => which,
    );
  return Promise.race([settled(first, 'first'), settled(second ?? Promise.resolve(), 'second')]);
}
