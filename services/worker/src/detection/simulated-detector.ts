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
    const iterator =
      Symbol.asyncIterator in source ? source[Symbol.asyncIterator]() : source[Symbol.iterator]();
    let pending: Promise<IteratorResult<T>> | undefined;
    const next = (): Promise<IteratorResult<T>> => {
      const p = pending ?? Promise.resolve(iterator.next());
      pending = undefined;
      return p;
    };
    try {
      for (;;) {
        const first = await next();
        if (first.done === true) return;
        const batch: T[] = [first.value];
        // Take what the source has ready right now, like the real detector (batchWaitMs 0).
        while (batch.length < this.model.batchSize) {
          const candidate = next();
          const ready = await Promise.race([candidate, sleep(0).then(() => undefined)]);
          if (ready === undefined) {
            pending = candidate;
            break;
          }
          if (ready.done === true) {
            pending = candidate;
            break;
          }
          batch.push(ready.value);
        }
        await sleep(this.latencyMs);
        for (const item of batch) yield { item, detections: [] };
      }
    } finally {
      await iterator.return?.();
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
