// The extractor entry: claims video jobs, streams frames out of ffmpeg into storage, the
// manifest and the frame queue. Run: `npm run start:extractor` (see the service README).
import { Redis } from 'ioredis';
import { loadConfig } from '@framewise/config';
import { frameQueue, videoQueue } from '@framewise/contracts';
import { FrameRepository, VideoRepository, createDatabase, prepareSchema } from '@framewise/db';
import {
  createLogger,
  createMetricsRegistry,
  onShutdown,
  runMain,
  startOpsServer,
} from '@framewise/observability';
import {
  QueueAdmin,
  QueueConsumer,
  QueueProducer,
  QueueWorker,
  checkRedisDurability,
} from '@framewise/queue';
import { createVideoStorage } from '@framewise/storage';
import { extractorConfigSchema } from '../config';
import { resolveFfmpegBinaries } from '../media/ffmpeg-binaries';
import { FrameExtractor } from './frame-extractor';
import { createExtractorMetrics } from './metrics';

async function main(): Promise<void> {
  const service = 'extractor';
  const config = loadConfig(extractorConfigSchema, process.env, { service });
  const logger = createLogger({ service, level: config.LOG_LEVEL, format: config.LOG_FORMAT });
  const binaries = resolveFfmpegBinaries({
    ...(config.FFMPEG_PATH === undefined ? {} : { ffmpegPath: config.FFMPEG_PATH }),
    ...(config.FFPROBE_PATH === undefined ? {} : { ffprobePath: config.FFPROBE_PATH }),
    searchPath: process.env.PATH ?? '',
  });
  logger.info(binaries, 'using ffmpeg');

  const redis = new Redis(config.REDIS_URL, { maxRetriesPerRequest: null });
  await checkRedisDurability(redis, {
    logger,
    onUnsafe: config.REDIS_REQUIRE_DURABILITY ? 'refuse' : 'warn',
  });
  const db = createDatabase({
    url: config.DATABASE_URL,
    maxConnections: 4 + config.EXTRACTOR_CONCURRENCY * 2,
    applicationName: 'framewise-extractor',
  });
  await prepareSchema(db, { migrate: config.DATABASE_MIGRATE_ON_START });
  const storage = createVideoStorage(config, { service });
  await storage.checkReady();

  const queueSettings = { keyPrefix: config.REDIS_KEY_PREFIX };
  const videos = videoQueue(queueSettings);
  const frames = frameQueue(queueSettings);
  const registry = createMetricsRegistry({ service });
  const metrics = createExtractorMetrics(registry, {
    videos: new QueueAdmin(videos, redis),
    frames: new QueueAdmin(frames, redis),
  });
  const extractor = new FrameExtractor(
    new VideoRepository(db),
    new FrameRepository(db),
    storage,
    new QueueProducer(frames, redis),
    redis,
    metrics,
    logger.child({ component: 'extractor' }),
    {
      ffmpeg: binaries.ffmpeg,
      ffprobe: binaries.ffprobe,
      batchSize: config.EXTRACT_BATCH_SIZE,
      timeoutMs: config.EXTRACT_TIMEOUT,
      jpegQuality: config.EXTRACT_JPEG_QUALITY,
      frameMaxSize: config.EXTRACT_FRAME_MAX_SIZE,
      keyPrefix: config.REDIS_KEY_PREFIX,
      ...(config.INGESTION_TMP_DIR === undefined ? {} : { tmpDir: config.INGESTION_TMP_DIR }),
    },
  );
  const consumer = new QueueConsumer(videos, redis, {
    prefetch: config.EXTRACTOR_CONCURRENCY,
    heartbeatTtlMs: config.EXTRACTOR_HEARTBEAT_TTL,
    logger,
    ...(config.EXTRACTOR_CONSUMER_ID === undefined
      ? {}
      : { consumerId: config.EXTRACTOR_CONSUMER_ID }),
  });
  const worker = new QueueWorker(consumer, (job) => extractor.handle(job), {
    concurrency: config.EXTRACTOR_CONCURRENCY,
    logger,
  });
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
      { name: 'storage', check: () => storage.checkReady() },
    ],
  });
  await worker.start();
  logger.info({ ops: ops.url }, 'extractor started');

  onShutdown(logger, 'stopping: no new video jobs; running extractions get 30 s', [
    { name: 'worker', close: () => worker.close({ deadlineMs: 30_000 }) },
    { name: 'ops', close: () => ops.close() },
    { name: 'db', close: () => db.destroy() },
    {
      name: 'redis',
      close: () => {
        redis.disconnect();
      },
    },
  ]);
}

runMain('extractor', main);
