import type { ConsumerEvent } from '@framewise/queue';
import type { Registry } from '@framewise/observability';
import { Counter, Gauge, Histogram, LATENCY_BUCKETS_SECONDS } from '@framewise/observability';

/** Why a frame or a step failed, as the `kind` label of the errors counter. */
export type WorkerErrorKind =
  | 'frame_missing'
  | 'frame_corrupt'
  | 'dead_lettered'
  | 'database_unavailable'
  | 'storage_unavailable'
  | 'redis_unavailable'
  | 'detector_failed'
  | 'write_failed';

/**
 * The worker's Prometheus series. Built once in `main.ts` on the process registry; the
 * worker's pieces record into it.
 */
export class WorkerMetrics {
  readonly framesDetected: Counter;
  readonly framesDropped: Counter;
  readonly batchSize: Histogram;
  readonly preprocessSeconds: Histogram;
  readonly inferenceSeconds: Histogram;
  readonly dbWriteSeconds: Histogram;
  readonly errors: Counter<'kind'>;
  readonly inFlight: Gauge;
  readonly provider: Gauge<'provider'>;
  readonly queueEvents: Counter<'type'>;

  constructor(registry: Registry) {
    const registers = [registry];
    this.framesDetected = new Counter({
      name: 'framewise_worker_frames_detected_total',
      help: 'Frames whose detections were written (new rows).',
      registers,
    });
    this.framesDropped = new Counter({
      name: 'framewise_worker_frames_dropped_total',
      help: 'Frame jobs acked without a write: their video was canceled, deleted or already final.',
      registers,
    });
    this.batchSize = new Histogram({
      name: 'framewise_worker_batch_size',
      help: 'Jobs per claimed batch.',
      buckets: [1, 2, 4, 8, 16, 32, 64],
      registers,
    });
    this.preprocessSeconds = new Histogram({
      name: 'framewise_worker_preprocess_seconds',
      help: 'Decode + letterbox time per detector batch (overlaps inference).',
      buckets: [...LATENCY_BUCKETS_SECONDS],
      registers,
    });
    this.inferenceSeconds = new Histogram({
      name: 'framewise_worker_inference_seconds',
      help: 'session.run time per detector batch.',
      buckets: [...LATENCY_BUCKETS_SECONDS],
      registers,
    });
    this.dbWriteSeconds = new Histogram({
      name: 'framewise_worker_db_write_seconds',
      help: 'Time to write one batch of results (one statement) and its failures.',
      buckets: [...LATENCY_BUCKETS_SECONDS],
      registers,
    });
    this.errors = new Counter({
      name: 'framewise_worker_errors_total',
      help: 'Errors by kind: permanent frame failures and transient outages (each retry).',
      labelNames: ['kind'],
      registers,
    });
    this.inFlight = new Gauge({
      name: 'framewise_worker_in_flight_jobs',
      help: 'Frame jobs claimed and not yet acked or failed.',
      registers,
    });
    this.provider = new Gauge({
      name: 'framewise_worker_provider_info',
      help: 'The execution provider running the model (1 for the one in use).',
      labelNames: ['provider'],
      registers,
    });
    this.queueEvents = new Counter({
      name: 'framewise_worker_queue_events_total',
      help: 'Queue consumer events: claimed, acked, lost, retried, dead-lettered, recovered, presumed-dead.',
      labelNames: ['type'],
      registers,
    });
  }

  /** Wire to `QueueConsumer`'s `onEvent`. */
  recordQueueEvent(event: ConsumerEvent): void {
    const count = 'count' in event ? event.count : 1;
    this.queueEvents.inc({ type: event.type }, count);
  }

  error(kind: WorkerErrorKind, count = 1): void {
    this.errors.inc({ kind }, count);
  }
}
