import { bool, duration, fragments, int, list, text, z } from '@framewise/config';
import { databaseConfig } from '@framewise/db';

/**
 * Every variable the worker reads (parsed once, in main.ts). See README.md for what each
 * does; the queue settings must match the producers' and the reaper's.
 */
export const workerConfigSchema = z.object({
  ...fragments.logging,
  ...fragments.redis,
  ...fragments.ops,
  ...fragments.storage,
  ...databaseConfig,
  /** Prefix of every Redis key (queues and events); the same for every process of a deployment. */
  REDIS_KEY_PREFIX: text({ default: 'fw:' }),
  /** Deliveries (failures and reclaims) before a frame job is dead-lettered; same as the reaper's. */
  QUEUE_MAX_DELIVERIES: int({ min: 1, max: 100, default: 5 }),
  /** The ONNX model file (Ultralytics YOLOv8 / YOLO11 export). */
  WORKER_MODEL_PATH: text(),
  /** Execution providers in order of preference; CPU is always the last resort. */
  WORKER_PROVIDERS: list({ default: ['cpu'] }),
  /** onnxruntime intra-op threads (default: onnxruntime's choice, one per core). */
  WORKER_THREADS: int({ min: 1, max: 256 }).optional(),
  /**
   * Linux, CPU inference: nice value of the helper threads that decode and resize frames, so
   * they use the cores inference leaves idle instead of slowing it down (0 = leave as is).
   */
  WORKER_HELPER_THREAD_NICE: int({ min: 0, max: 19, default: 10 }),
  /**
   * Let libjpeg shrink frames stored at twice the model's size or more while decoding them
   * (EXTRACT_FRAME_MAX_SIZE=0 with 1080p video): ~20 % less preprocessing CPU, pixels slightly
   * different from Ultralytics'. No effect on frames stored at the model's size (the default).
   */
  WORKER_FAST_SHRINK_ON_LOAD: bool({ default: false }),
  /** Most frame jobs per claim / results statement / ack (also the dynamic-batch size). */
  WORKER_BATCH_MAX: int({ min: 1, max: 256, default: 8 }),
  /** Stable consumer id (a pod name) so a restart recovers its own jobs; default host-pid-random. */
  WORKER_CONSUMER_ID: text().optional(),
  /** The reaper reclaims this worker's jobs when its heartbeat is older than this. */
  WORKER_HEARTBEAT_TTL: duration({ default: '15s', min: '1s' }),
  /**
   * Detector failures in a row (no frame detected in between) after which the worker exits
   * with code 1 for its orchestrator to restart it (a lost GPU, a broken session).
   */
  WORKER_MAX_DETECTOR_FAILURES: int({ min: 1, max: 1000, default: 3 }),
  /**
   * An inference run (after the warm-up) that takes longer than this is taken for a hung
   * session (a lost GPU): the worker hands its jobs back and ends itself with SIGKILL, the
   * only way out of a thread stuck in onnxruntime. 0 = no limit.
   */
  WORKER_RUN_TIMEOUT: duration({ default: '5m' }),
  /**
   * How far V8 may grow the JavaScript heap above its live size before a full collection, in
   * percent (0 = V8's own heuristic, which restarts marking almost continuously for this
   * process: see src/runtime/heap-growth.ts). 300 costs up to ~70 MB of heap per process.
   */
  WORKER_HEAP_GROWTH_PERCENT: int({ min: 0, max: 1000, default: 300 }),
  /** SIGTERM: how long to finish the batches in hand before handing them back. */
  WORKER_SHUTDOWN_DEADLINE: duration({ default: '20s' }),
});

export type WorkerConfig = z.output<typeof workerConfigSchema>;
