// The upload API wired over a test's real infrastructure (as api/main.ts wires it), for
// integration tests that go through HTTP.
import http from 'node:http';
import type { Express, RequestHandler } from 'express';
import { frameQueue, videoQueue } from '@framewise/contracts';
import { ResultRepository, VideoRepository } from '@framewise/db';
import { createLogger, createMetricsRegistry } from '@framewise/observability';
import { QueueAdmin, QueueProducer } from '@framewise/queue';
import type { VideoStorage } from '@framewise/storage';
import { createApp, type AppDeps } from '../api/http/app';
import { isUpload, serveWithExpectContinue } from '../api/http/expect-continue';
import { createApiMetrics } from '../api/metrics';
import { Semaphore } from '../api/uploads/semaphore';
import { UploadQuota, type UploadQuotaLimits } from '../api/uploads/upload-quota';
import { UploadService } from '../api/uploads/upload-service';
import { CancelService } from '../api/videos/cancel-service';
import { EventHub } from '../api/videos/event-hub';
import type { Infra } from './infra.spec-helper';

/**
 * No upload quota at all. Tests spread it and set one limit; its period is 30 days because
 * the windows are fixed (aligned to the epoch): with a 60 s period, a test whose two uploads
 * straddled a minute boundary saw the second one land in a fresh window and be accepted.
 */
export const NO_QUOTA: UploadQuotaLimits = {
  bytesPerPeriod: 0,
  videosPerPeriod: 0,
  periodMs: 30 * 24 * 3_600_000,
  maxConcurrent: 0,
};

/** Options of {@link testApp}; everything but `tmpDir` has a test default. */
export interface TestAppOptions {
  readonly tmpDir: string;
  readonly maxUploadBytes?: number;
  readonly guard?: RequestHandler;
  readonly quota?: UploadQuotaLimits;
  /** Storage other than the infra's local volume (S3). */
  readonly storage?: VideoStorage;
}

/** The app, the quota it enforces, its dependencies (to build variants), and what to close. */
export interface TestApp {
  readonly app: Express;
  /**
   * The app behind one long-lived listening server. Give supertest this, not `app`, when an
   * answer can come before the request body is sent: with `app`, supertest closes its
   * throwaway server right after the answer, which resets the connection the server is still
   * reading the body from, and the client fails with EPIPE instead of getting the status.
   */
  readonly server: http.Server;
  readonly deps: AppDeps;
  readonly quota: UploadQuota;
  close(): Promise<void>;
}

/** The API over `infra`, its queues and events under `infra.keyPrefix`. */
export function testApp(infra: Infra, options: TestAppOptions): TestApp {
  const registry = createMetricsRegistry({ service: 'test', processMetrics: false });
  const metrics = createApiMetrics(registry);
  const videos = new VideoRepository(infra.db);
  const logger = createLogger({ service: 'test', level: 'silent' });
  const storage = options.storage ?? infra.storage;
  const events = new EventHub(infra.redis.duplicate(), infra.keyPrefix);
  const quota = new UploadQuota(infra.redis, infra.keyPrefix, options.quota ?? NO_QUOTA);
  const queues = {
    videos: new QueueAdmin(videoQueue({ keyPrefix: infra.keyPrefix }), infra.redis),
    frames: new QueueAdmin(frameQueue({ keyPrefix: infra.keyPrefix }), infra.redis),
  };
  const deps: AppDeps = {
    logger,
    registry,
    checks: [],
    ...(options.guard === undefined ? {} : { guard: options.guard }),
    videos,
    results: new ResultRepository(infra.db),
    storage,
    quota,
    uploads: new UploadService(
      videos,
      storage,
      new QueueProducer(videoQueue({ keyPrefix: infra.keyPrefix }), infra.redis),
      infra.redis,
      new Semaphore(4),
      metrics,
      logger,
      {
        ffprobe: 'ffprobe',
        keyPrefix: infra.keyPrefix,
        maxDurationS: 600,
        maxDimension: 4096,
        idempotencyTtlMs: 60_000,
      },
    ),
    cancels: new CancelService(videos, storage, queues, infra.redis, infra.keyPrefix),
    events,
    metrics,
    options: {
      maxUploadBytes: options.maxUploadBytes ?? 2 * 1024 * 1024,
      tmpDir: options.tmpDir,
      sampling: { maxFps: 60, maxEveryNth: 1000 },
      defaultSampling: 'fps:5',
      models: ['yolov8n@1', 'yolov8s@2'],
      ssePollMs: 200,
    },
  };
  const app = createApp(deps);
  const server = http.createServer(app);
  serveWithExpectContinue(server, app, isUpload);
  server.listen(0, '127.0.0.1');
  return {
    app,
    server,
    deps,
    quota,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) =>
        server.close(() => {
          resolve();
        }),
      );
      await events.close();
    },
  };
}
