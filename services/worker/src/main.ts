// The detection worker process: parses its configuration once, builds the dependency graph,
// loads and warms the model before reporting ready, and stops gracefully on SIGTERM.
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { loadConfig } from '@framewise/config';
import { frameQueue } from '@framewise/contracts';
import { ResultRepository, VideoRepository, createDatabase, prepareSchema } from '@framewise/db';
import type { Detector, ExecutionProviderName } from '@framewise/detector';
import { DetectorHungError, OnnxYoloDetector, setOnnxRuntimeLogLevel } from '@framewise/detector';
import {
  createLogger,
  createMetricsRegistry,
  onShutdown,
  runMain,
  startOpsServer,
  withContext,
} from '@framewise/observability';
import { QueueConsumer, checkRedisDurability, defaultConsumerId } from '@framewise/queue';
import { createVideoStorage } from '@framewise/storage';
import { workerConfigSchema } from './config';
import { claimBatchSize } from './detection/batch-size';
import { DetectionWorker } from './detection/detection-worker';
import { SimulatedDetector } from './detection/simulated-detector';
import { FrameReader } from './frames/frame-reader';
import { applyHeapGrowth } from './runtime/heap-growth';
import { WorkerMetrics } from './metrics/worker-metrics';

const PROVIDERS = new Set<string>(['cuda', 'tensorrt', 'cpu']);

async function main(): Promise<void> {
  // Bench-only flag: a fixed-latency SIMULATED detector instead of the model (see README).
  const { values: flags } = parseArgs({
    options: { 'simulated-detector-ms': { type: 'string' } },
    strict: true,
  });
  const config = loadConfig(workerConfigSchema, process.env, { service: 'worker' });
  applyHeapGrowth(config.WORKER_HEAP_GROWTH_PERCENT);
  const logger = createLogger({
    service: 'worker',
    level: config.LOG_LEVEL,
    format: config.LOG_FORMAT,
    // A hung inference run ends the process with SIGKILL: its last lines must be out by then
    // (the worker logs a few lines per run of the process, not per frame).
    sync: true,
  });
  const registry = createMetricsRegistry({ service: 'worker' });
  const metrics = new WorkerMetrics(registry);
  let ready = false;

  // The connection carries the consumer id as its name (CLIENT SETNAME, re-sent on every
  // reconnect; the blocking connection duplicated from it inherits it), so an operator reading
  // CLIENT LIST sees which worker holds which connection.
  const consumerId = config.WORKER_CONSUMER_ID ?? defaultConsumerId();
  const redis = new Redis(config.REDIS_URL, {
    maxRetriesPerRequest: null,
    connectionName: `worker:${consumerId}`,
  });
  redis.on('error', (error: unknown) => {
    logger.warn({ err: error }, 'redis connection error');
  });
  await checkRedisDurability(redis, {
    logger,
    onUnsafe: config.REDIS_REQUIRE_DURABILITY ? 'refuse' : 'warn',
  });
  const db = createDatabase({ url: config.DATABASE_URL, maxConnections: config.DATABASE_POOL_MAX });
  await prepareSchema(db, { migrate: config.DATABASE_MIGRATE_ON_START });
  const storage = createVideoStorage(config, { service: 'worker' });

  let detector: Detector;
  const simulatedMs = flags['simulated-detector-ms'];
  if (simulatedMs !== undefined) {
    detector = new SimulatedDetector(Number(simulatedMs), config.WORKER_BATCH_MAX);
    logger.warn(
      { latencyMs: Number(simulatedMs) },
      'SIMULATED detector (benchmark only): no model runs',
    );
  } else {
    setOnnxRuntimeLogLevel('fatal');
    const providers = config.WORKER_PROVIDERS.filter((p): p is ExecutionProviderName =>
      PROVIDERS.has(p),
    );
    detector = await OnnxYoloDetector.load({
      model: { path: config.WORKER_MODEL_PATH },
      executionProviders: providers,
      ...(config.WORKER_THREADS === undefined ? {} : { intraOpThreads: config.WORKER_THREADS }),
      helperThreadNice: config.WORKER_HELPER_THREAD_NICE,
      fastShrinkOnLoad: config.WORKER_FAST_SHRINK_ON_LOAD,
      maxBatch: config.WORKER_BATCH_MAX,
      runTimeoutMs: config.WORKER_RUN_TIMEOUT,
      logger: withContext(logger, { component: 'detector' }),
    });
  }
  metrics.provider.set({ provider: detector.model.provider }, 1);

  const queue = frameQueue({
    keyPrefix: config.REDIS_KEY_PREFIX,
    maxDeliveries: config.QUEUE_MAX_DELIVERIES,
  });
  const batchSize = claimBatchSize(detector.model, config.WORKER_BATCH_MAX);
  const consumer = new QueueConsumer(queue, redis, {
    consumerId,
    // A batch being read, one being inferred and up to two being written.
    prefetch: batchSize * 4,
    heartbeatTtlMs: config.WORKER_HEARTBEAT_TTL,
    logger: withContext(logger, { component: 'queue' }),
    onEvent: (event) => {
      metrics.recordQueueEvent(event);
    },
  });
  const workerLogger = withContext(logger, { component: 'detection', consumerId: consumer.id });
  const worker = new DetectionWorker(
    consumer,
    detector,
    new FrameReader(storage),
    new VideoRepository(db),
    new ResultRepository(db),
    metrics,
    workerLogger,
    {
      batchSize,
      workerId: consumer.id,
      maxDetectorFailures: config.WORKER_MAX_DETECTOR_FAILURES,
      // A detector that keeps failing (a lost GPU, a broken session) ends the process with
      // exit code 1, so the orchestrator restarts it; the jobs went back to the queue.
      onFatal: (error) => {
        process.exitCode = 1;
        if (error instanceof DetectorHungError) {
          // A thread stuck in onnxruntime cannot be stopped, and Node waits for it at exit:
          // shut down what can be, then SIGKILL (the jobs in hand are back in the queue).
          logger.error('exiting with SIGKILL after shutdown: an inference run hung');
          // The logger writes synchronously (createLogger above), so no line is lost to it.
          const kill = () => process.kill(process.pid, 'SIGKILL');
          if (shutdown.stop === undefined) kill();
          else void shutdown.stop().finally(kill);
          return;
        }
        logger.error('exiting: the detector keeps failing');
        if (shutdown.stop === undefined) process.exit(1);
        void shutdown.stop();
      },
    },
  );
  const shutdown: { stop?: () => Promise<void> } = {};

  const ops = await startOpsServer({
    registry,
    port: config.OPS_PORT,
    host: config.OPS_HOST,
    checks: [
      {
        name: 'model',
        check: () => (ready ? Promise.resolve() : Promise.reject(new Error('model not warm yet'))),
      },
      {
        name: 'redis',
        check: async () => {
          await redis.ping();
        },
      },
      {
        name: 'postgres',
        check: async () => {
          await db.selectNoFrom((eb) => eb.val(1).as('one')).execute();
        },
      },
      { name: 'storage', check: () => storage.checkReady() },
    ],
  });

  await worker.start();
  // OnnxYoloDetector.load warmed the model up: ready means "claims and detects now".
  ready = true;
  logger.info(
    { consumerId: consumer.id, batchSize, provider: detector.model.provider, ops: ops.url },
    'worker ready',
  );

  shutdown.stop = onShutdown(logger, 'stopping: finishing the batches in hand', [
    {
      name: 'readiness',
      close: () => {
        ready = false;
      },
    },
    {
      name: 'worker',
      close: async () => {
        const report = await worker.close({ deadlineMs: config.WORKER_SHUTDOWN_DEADLINE });
        logger.info(report, 'worker closed');
      },
    },
    { name: 'detector', close: () => detector.close() },
    { name: 'ops server', close: () => ops.close() },
    { name: 'database', close: () => db.destroy() },
    { name: 'redis', close: () => redis.quit() },
  ]);
}

runMain('worker', main);
