// The reaper process: reclaims stalled consumers' frame jobs and promotes retries, reconciles
// the Postgres manifest against Redis, and finalizes finished videos. Several replicas may run.
import { Redis } from 'ioredis';
import { loadConfig } from '@framewise/config';
import { QUEUE_NAMES, frameQueue, videoQueue } from '@framewise/contracts';
import {
  FrameRepository,
  ResultRepository,
  VideoRepository,
  createDatabase,
  prepareSchema,
} from '@framewise/db';
import {
  createLogger,
  createMetricsRegistry,
  onShutdown,
  runMain,
  startOpsServer,
  withContext,
} from '@framewise/observability';
import { QueueAdmin, QueueReaper, checkRedisDurability } from '@framewise/queue';
import { reaperConfigSchema } from './config';
import { Finalizer } from './finalize/finalizer';
import { ReaperMetrics } from './metrics/reaper-metrics';
import { registerSystemMetrics } from './metrics/system-metrics';
import { Reconciler } from './reconcile/reconciler';
import { VideoReconciler } from './reconcile/video-reconciler';
import { IntervalLoop } from './schedule/loop';

async function main(): Promise<void> {
  const config = loadConfig(reaperConfigSchema, process.env, { service: 'reaper' });
  const logger = createLogger({
    service: 'reaper',
    level: config.LOG_LEVEL,
    format: config.LOG_FORMAT,
  });
  const registry = createMetricsRegistry({ service: 'reaper' });
  const metrics = new ReaperMetrics(registry);

  const redis = new Redis(config.REDIS_URL, { maxRetriesPerRequest: null });
  redis.on('error', (error: unknown) => {
    logger.warn({ err: error }, 'redis connection error');
  });
  await checkRedisDurability(redis, {
    logger,
    onUnsafe: config.REDIS_REQUIRE_DURABILITY ? 'refuse' : 'warn',
  });
  const db = createDatabase({ url: config.DATABASE_URL, maxConnections: config.DATABASE_POOL_MAX });
  await prepareSchema(db, { migrate: config.DATABASE_MIGRATE_ON_START });

  const queue = frameQueue({
    keyPrefix: config.REDIS_KEY_PREFIX,
    maxDeliveries: config.QUEUE_MAX_DELIVERIES,
  });
  registerSystemMetrics(registry, {
    queues: {
      videos: new QueueAdmin(videoQueue({ keyPrefix: config.REDIS_KEY_PREFIX }), redis),
      frames: new QueueAdmin(queue, redis),
    },
    redis,
    videos: new VideoRepository(db),
    logger: withContext(logger, { component: 'metrics' }),
    maxVideos: config.REAPER_METRICS_VIDEOS,
  });
  const queueReaper = new QueueReaper(queue, redis, {
    logger: withContext(logger, { component: 'reclaim' }),
  });
  // The video queue too: an extractor that dies mid-extraction leaves its video job in its
  // processing list, and only a reclaim returns it (a restarted extractor recovers its own
  // list only when it keeps its consumer id). Same settings as the API's and extractors'.
  const videos = videoQueue({ keyPrefix: config.REDIS_KEY_PREFIX });
  const videoQueueReaper = new QueueReaper(videos, redis, {
    logger: withContext(logger, { component: 'reclaim', queue: QUEUE_NAMES.videos }),
  });
  const videoReconciler = new VideoReconciler(
    new VideoRepository(db),
    videos,
    redis,
    withContext(logger, { component: 'reconcile', queue: QUEUE_NAMES.videos }),
    {
      graceMs: config.REAPER_RECONCILE_GRACE,
      lockKey: `${config.REDIS_KEY_PREFIX}{${QUEUE_NAMES.videos}}:reconcile-lock`,
      lockTtlMs: Math.max(60_000, 2 * config.REAPER_RECONCILE_INTERVAL),
    },
  );
  const reconciler = new Reconciler(
    new FrameRepository(db),
    new ResultRepository(db),
    queue,
    redis,
    withContext(logger, { component: 'reconcile' }),
    {
      graceMs: config.REAPER_RECONCILE_GRACE,
      // The queue's hash tag keeps the lock in the queue's Redis Cluster slot.
      lockKey: `${config.REDIS_KEY_PREFIX}{${QUEUE_NAMES.frames}}:reconcile-lock`,
      lockTtlMs: Math.max(60_000, 2 * config.REAPER_RECONCILE_INTERVAL),
    },
  );
  const finalizer = new Finalizer(
    new VideoRepository(db),
    redis,
    config.REDIS_KEY_PREFIX,
    withContext(logger, { component: 'finalize' }),
  );

  const timed = async <R>(loop: 'reclaim' | 'reconcile' | 'finalize', fn: () => Promise<R>) => {
    const end = metrics.loopSeconds.startTimer({ loop });
    try {
      return await fn();
    } finally {
      end();
    }
  };
  const loops = [
    new IntervalLoop(
      'reclaim',
      config.REAPER_RECLAIM_INTERVAL,
      async () => {
        const report = await timed('reclaim', () => queueReaper.runOnce());
        metrics.reclaimed.inc(report.reclaimed);
        metrics.promoted.inc(report.promoted);
        metrics.deadLettered.inc({ reason: 'deliveries' }, report.deadLettered);
        if (report.reclaimed + report.deadLettered > 0)
          logger.info(report, 'reclaimed stalled jobs');
        const videoReport = await timed('reclaim', () => videoQueueReaper.runOnce());
        metrics.videoJobsReclaimed.inc(videoReport.reclaimed);
        if (videoReport.reclaimed + videoReport.deadLettered > 0)
          logger.info(
            { ...videoReport, queue: QUEUE_NAMES.videos },
            'reclaimed stalled video jobs',
          );
      },
      logger,
      () => {
        metrics.loopErrors.inc({ loop: 'reclaim' });
      },
    ),
    new IntervalLoop(
      'reconcile',
      config.REAPER_RECONCILE_INTERVAL,
      async () => {
        const report = await timed('reconcile', () => reconciler.runOnce());
        metrics.reconciled.inc(report.reenqueued);
        metrics.deadLettered.inc({ reason: 'recorded' }, report.deadLetteredRecorded);
        const videoReport = await videoReconciler.runOnce();
        metrics.videosReconciled.inc(videoReport.reenqueued);
      },
      logger,
      () => {
        metrics.loopErrors.inc({ loop: 'reconcile' });
      },
    ),
    new IntervalLoop(
      'finalize',
      config.REAPER_FINALIZE_INTERVAL,
      async () => {
        const report = await timed('finalize', () => finalizer.runOnce());
        metrics.finalized.inc({ status: 'completed' }, report.completed);
        metrics.finalized.inc({ status: 'completed_with_errors' }, report.completedWithErrors);
      },
      logger,
      () => {
        metrics.loopErrors.inc({ loop: 'finalize' });
      },
    ),
  ];

  const ops = await startOpsServer({
    registry,
    port: config.OPS_PORT,
    host: config.OPS_HOST,
    checks: [
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
    ],
  });
  for (const loop of loops) loop.start();
  logger.info({ ops: ops.url }, 'reaper ready');

  onShutdown(logger, 'stopping: letting passes in progress end', [
    { name: 'loops', close: () => Promise.all(loops.map((l) => l.stop())) },
    { name: 'ops server', close: () => ops.close() },
    { name: 'database', close: () => db.destroy() },
    { name: 'redis', close: () => redis.quit() },
  ]);
}

runMain('reaper', main);
