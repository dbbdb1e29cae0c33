// The upload API entry. Run: `npm run start:api` (see the service README).
import http from 'node:http';
import { tmpdir } from 'node:os';
import { Redis } from 'ioredis';
import { loadConfig } from '@framewise/config';
import { frameQueue, videoQueue } from '@framewise/contracts';
import {
  ApiKeyRepository,
  ResultRepository,
  VideoRepository,
  createDatabase,
  prepareSchema,
} from '@framewise/db';
import { createLogger, createMetricsRegistry, onShutdown, runMain } from '@framewise/observability';
import { QueueAdmin, QueueProducer, checkRedisDurability } from '@framewise/queue';
import { createVideoStorage } from '@framewise/storage';
import { ApiKeyStore } from '../auth/api-keys';
import { apiGuard } from '../auth/guard';
import { copyRedisApiKeys } from '../auth/legacy-redis-keys';
import { apiConfigSchema } from '../config';
import { resolveFfmpegBinaries } from '../media/ffmpeg-binaries';
import { parseSampling } from '../media/sampling';
import { createApp } from './http/app';
import { isUpload, serveWithExpectContinue } from './http/expect-continue';
import { createApiMetrics } from './metrics';
import { Semaphore } from './uploads/semaphore';
import { UploadQuota } from './uploads/upload-quota';
import { UploadService } from './uploads/upload-service';
import { CancelService } from './videos/cancel-service';
import { EventHub } from './videos/event-hub';

async function main(): Promise<void> {
  const service = 'api';
  const config = loadConfig(apiConfigSchema, process.env, { service });
  const logger = createLogger({ service, level: config.LOG_LEVEL, format: config.LOG_FORMAT });
  const samplingLimits = {
    maxFps: config.MAX_SAMPLING_FPS,
    maxEveryNth: config.MAX_SAMPLING_EVERY_NTH,
  };
  if (!parseSampling(config.DEFAULT_SAMPLING, samplingLimits).ok) {
    throw new Error(
      `DEFAULT_SAMPLING: "${config.DEFAULT_SAMPLING}" is not fps:<rate>, every:<n> or all`,
    );
  }
  const badModels = config.MODELS.filter((m) => !/^[^@\s]+@[^@\s]+$/.test(m));
  if (config.MODELS.length === 0 || badModels.length > 0) {
    throw new Error(`MODELS: expected name@version entries, got ${JSON.stringify(config.MODELS)}`);
  }
  const { ffprobe } = resolveFfmpegBinaries({
    ...(config.FFMPEG_PATH === undefined ? {} : { ffmpegPath: config.FFMPEG_PATH }),
    ...(config.FFPROBE_PATH === undefined ? {} : { ffprobePath: config.FFPROBE_PATH }),
    searchPath: process.env.PATH ?? '',
  });

  const redis = new Redis(config.REDIS_URL, { maxRetriesPerRequest: 3 });
  await checkRedisDurability(redis, {
    logger,
    onUnsafe: config.REDIS_REQUIRE_DURABILITY ? 'refuse' : 'warn',
  });
  const db = createDatabase({ url: config.DATABASE_URL, applicationName: 'framewise-api' });
  await prepareSchema(db, { migrate: config.DATABASE_MIGRATE_ON_START });
  const apiKeys = new ApiKeyRepository(db);
  // Keys of versions that kept them in Redis: copied once (idempotent; see the README).
  const legacyKeys = await copyRedisApiKeys(redis, config.REDIS_KEY_PREFIX, apiKeys);
  if (legacyKeys.found > 0) {
    logger.info(legacyKeys, 'API keys found in the old Redis hash copied to Postgres');
  }
  const storage = createVideoStorage(config, { service });
  await storage.checkReady();

  const queueSettings = { keyPrefix: config.REDIS_KEY_PREFIX };
  const videoJobs = videoQueue(queueSettings);
  const frameJobs = frameQueue(queueSettings);
  const registry = createMetricsRegistry({ service });
  const metrics = createApiMetrics(registry);
  const videos = new VideoRepository(db);
  const events = new EventHub(redis.duplicate(), config.REDIS_KEY_PREFIX);
  const tmpDir = config.INGESTION_TMP_DIR ?? tmpdir();

  if (config.AUTH_DISABLED) logger.warn('AUTH_DISABLED: /v1 is open to anyone who can reach it');
  const app = createApp({
    logger,
    guard: apiGuard(new ApiKeyStore(apiKeys), redis, {
      authDisabled: config.AUTH_DISABLED,
      requestsPerMinute: config.RATE_LIMIT_PER_MINUTE,
      keyPrefix: config.REDIS_KEY_PREFIX,
    }),
    registry,
    checks: [
      {
        name: 'redis',
        check: async () => {
          await redis.ping();
        },
      },
      { name: 'storage', check: () => storage.checkReady() },
    ],
    videos,
    results: new ResultRepository(db),
    storage,
    quota: new UploadQuota(redis, config.REDIS_KEY_PREFIX, {
      bytesPerPeriod: config.UPLOAD_QUOTA_BYTES,
      videosPerPeriod: config.UPLOAD_QUOTA_VIDEOS,
      periodMs: config.UPLOAD_QUOTA_PERIOD,
      maxConcurrent: config.UPLOAD_MAX_CONCURRENT_PER_KEY,
    }),
    uploads: new UploadService(
      videos,
      storage,
      new QueueProducer(videoJobs, redis),
      redis,
      new Semaphore(config.PROBE_CONCURRENCY),
      metrics,
      logger.child({ component: 'uploads' }),
      {
        ffprobe,
        keyPrefix: config.REDIS_KEY_PREFIX,
        maxDurationS: config.UPLOAD_MAX_DURATION_S,
        maxDimension: config.UPLOAD_MAX_DIMENSION,
        idempotencyTtlMs: config.IDEMPOTENCY_TTL,
      },
    ),
    cancels: new CancelService(
      videos,
      storage,
      { videos: new QueueAdmin(videoJobs, redis), frames: new QueueAdmin(frameJobs, redis) },
      redis,
      config.REDIS_KEY_PREFIX,
    ),
    events,
    metrics,
    options: {
      maxUploadBytes: config.UPLOAD_MAX_BYTES,
      uploadIdleTimeoutMs: config.UPLOAD_IDLE_TIMEOUT,
      tmpDir,
      sampling: samplingLimits,
      defaultSampling: config.DEFAULT_SAMPLING,
      models: config.MODELS,
      ssePollMs: 5000,
    },
  });
  const server = http.createServer(app);
  serveWithExpectContinue(server, app, isUpload);
  server.listen(config.PORT, config.HOST, () => {
    logger.info({ port: config.PORT }, 'api listening');
  });
  // Uploads of gigabytes take long: no request timeout; an upload that stops arriving is cut
  // after UPLOAD_IDLE_TIMEOUT by the upload route.
  server.requestTimeout = 0;

  onShutdown(logger, 'stopping: no new connections; open requests may finish', [
    {
      name: 'http',
      close: () =>
        new Promise<void>((resolve) => {
          server.close(() => {
            resolve();
          });
          // SSE streams never end by themselves.
          server.closeIdleConnections();
          setTimeout(() => {
            server.closeAllConnections();
          }, 20_000).unref();
        }),
    },
    { name: 'events', close: () => events.close() },
    { name: 'db', close: () => db.destroy() },
    {
      name: 'redis',
      close: () => {
        redis.disconnect();
      },
    },
  ]);
}

runMain('api', main);
