import { setTimeout as sleep } from 'node:timers/promises';
import type {
  DetectItem,
  DetectOutcome,
  Detection,
  Detector,
  ImageInput,
  ModelDescription,
} from '@framewise/detector';
import { BatchReader, DetectorClosedError, toAsyncIterator } from '@framewise/detector';

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
    // Takes what the source has ready (after pending I/O), as the real detector's default
    // batchWaitMs 0 does.
    const reader = new BatchReader(toAsyncIterator(source), this.model.batchSize, 0);
    try {
      let next = reader.next();
      for (;;) {
        const batch = await next;
        if (batch === undefined) return;
        // Start pulling the next batch now, while this one "runs" (as detectMany prepares the
        // next batch while the inference thread runs); a failure surfaces when it is awaited.
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
