import { setTimeout as sleep } from 'node:timers/promises';
import type {
  DetectItem,
  DetectOutcome,
  Detection,
  Detector,
  ImageInput,
  ModelDescription,
} from '@framewise/detector';
import { DetectorClosedError } from '@framewise/detector';

/**
 * A SIMULATION of a detector, for the scale benchmark only: every batch "runs" for a fixed
 * time without using the CPU (as a GPU would) and finds nothing. It lets one machine stand in
 * for 64 GPU workers, so what is measured is the orchestration (claims, reads, writes, acks),
 * not the model. main.ts selects it only with the `--simulated-detector-ms` flag, and says
 * so loudly; never by configuration.
 *
 * `detectMany` overlaps like OnnxYoloDetector's: while one batch "runs", the next one is
 * already being pulled from the source (claimed, status-checked and read, in the worker), so
 * the per-batch orchestration latency is hidden behind the simulated inference exactly as it
 * is behind `session.run` in production, and only its CPU cost remains visible.
 */
export class SimulatedDetector implements Detector {
  readonly model: ModelDescription;
  private closed = false;

  constructor(
    private readonly latencyMs: number,
    batchSize = 8,
  ) {
    this.model = {
      task: 'detect',
      inputWidth: 640,
      inputHeight: 640,
      classNames: ['simulated'],
      anchors: 8400,
      dynamicBatch: true,
      batchSize,
      provider: 'cpu',
    };
  }

  async detect(image: ImageInput): Promise<Detection[]> {
    return (await this.detectBatch([image]))[0] ?? [];
  }

  async detectBatch(images: readonly ImageInput[]): Promise<Detection[][]> {
    this.assertOpen();
    await sleep(this.latencyMs);
    return images.map(() => []);
  }

  async *detectMany<T extends DetectItem>(
    source: AsyncIterable<T> | Iterable<T>,
  ): AsyncGenerator<DetectOutcome<T>, void, undefined> {
    this.assertOpen();
    const reader = new ReadyBatchReader(toAsyncIterator(source), this.model.batchSize);
    try {
      let next = reader.next();
      for (;;) {
        const batch = await next;
        if (batch === undefined) return;
        // Start pulling the next batch now, while this one "runs" (as detectMany's prefetch
        // does while session.run blocks); a failure surfaces when it is awaited.
        next = reader.next();
        next.catch(() => undefined);
        await sleep(this.latencyMs);
        for (const item of batch) yield { item, detections: [] };
      }
    } finally {
      await reader.close();
    }
  }

  close(): Promise<void> {
    this.closed = true;
    return Promise.resolve();
  }

  private assertOpen(): void {
    if (this.closed) throw new DetectorClosedError('the simulated detector is closed');
  }
}

/**
 * Batches from an async iterator: waits for the first item, then takes what the source has
 * ready right now (after pending I/O callbacks), up to `size`: the real detector's default
 * (batchWaitMs 0). An item that was not ready stays pending and starts the next batch.
 */
class ReadyBatchReader<T> {
  private pending: Promise<IteratorResult<T>> | undefined;
  private done = false;

  constructor(
    private readonly iterator: AsyncIterator<T>,
    private readonly size: number,
  ) {}

  async next(): Promise<T[] | undefined> {
    if (this.done) return undefined;
    const first = await this.take();
    if (first.done === true) {
      this.done = true;
      return undefined;
    }
    const batch: T[] = [first.value];
    while (batch.length < this.size) {
      this.pending ??= this.iterator.next();
      const ready = await readyNow(this.pending);
      if (ready === undefined) break; // not ready: it starts the next batch
      this.pending = undefined;
      if (ready.done === true) {
        this.done = true;
        break;
      }
      batch.push(ready.value);
    }
    return batch;
  }

  async close(): Promise<void> {
    if (this.done) return;
    this.done = true;
    await this.iterator.return?.();
  }

  private take(): Promise<IteratorResult<T>> {
    const pending = this.pending ?? this.iterator.next();
    this.pending = undefined;
    return pending;
  }
}

/** The promise's value if it settles before a 0 ms timer (after pending I/O), else undefined. */
async function readyNow<V>(promise: Promise<V>): Promise<V | undefined> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<undefined>((resolve) => {
        timer = setTimeout(() => {
          resolve(undefined);
        }, 0);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

function toAsyncIterator<T>(source: AsyncIterable<T> | Iterable<T>): AsyncIterator<T> {
  if (Symbol.asyncIterator in source) return source[Symbol.asyncIterator]();
  const iterator = source[Symbol.iterator]();
  return { next: () => Promise.resolve(iterator.next()) };
}
