// Real infrastructure for this service's integration tests: a migrated database per test file,
// a Redis key prefix, a local storage root, ffmpeg-generated videos. No mocks.
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Kysely } from 'kysely';
import { Redis } from 'ioredis';
import type { Database } from '@framewise/db';
import { createDatabase, migratedTemplate } from '@framewise/db';
import { LocalVolumeStorage, type VideoStorage } from '@framewise/storage';
import { frameQueue, videoQueue, type FrameJob, type VideoJob } from '@framewise/contracts';
import { FrameRepository, VideoRepository } from '@framewise/db';
import { createLogger, createMetricsRegistry } from '@framewise/observability';
import { QueueAdmin, QueueProducer, type Job } from '@framewise/queue';
import { FrameExtractor } from '../extractor/frame-extractor';
import { createExtractorMetrics } from '../extractor/metrics';
import { DEFAULT_FRAME_MAX_SIZE } from '../media/frame-format';
import {
  createTestDatabase,
  deleteKeysWithPrefix,
  sharedInfra,
  uniqueKeyPrefix,
} from '@framewise/testing';

const run = promisify(execFile);

/** What an integration test of this service works against. */
export interface Infra {
  readonly db: Kysely<Database>;
  /** The test database's URL (for child processes). */
  readonly databaseUrl: string;
  /** The shared Redis's URL (for child processes). */
  readonly redisUrl: string;
  readonly redis: Redis;
  readonly keyPrefix: string;
  readonly storageRoot: string;
  readonly storage: LocalVolumeStorage;
  readonly workDir: string;
  close(): Promise<void>;
}

/** A migrated database, a Redis client with a fresh key prefix, and a storage root. */
export async function startInfra(label: string): Promise<Infra> {
  const database = await createTestDatabase({ template: migratedTemplate() });
  const db = createDatabase({ url: database.url, maxConnections: 8 });
  const redis = new Redis(sharedInfra().redisUrl, { maxRetriesPerRequest: null });
  const keyPrefix = uniqueKeyPrefix(label);
  const workDir = await mkdtemp(join(tmpdir(), `fw-${label}-`));
  const storageRoot = join(workDir, 'storage');
  await run('mkdir', ['-p', storageRoot]);
  return {
    db,
    databaseUrl: database.url,
    redisUrl: sharedInfra().redisUrl,
    redis,
    keyPrefix,
    storageRoot,
    storage: new LocalVolumeStorage({ root: storageRoot }),
    workDir,
    close: async () => {
      await deleteKeysWithPrefix(redis, keyPrefix).catch(() => 0);
      redis.disconnect();
      await db.destroy();
      await database.drop();
      await rm(workDir, { recursive: true, force: true });
    },
  };
}

/** Runs ffmpeg with the given arguments (quiet, overwrite). */
export async function ffmpeg(args: readonly string[]): Promise<void> {
  await run('ffmpeg', ['-hide_banner', '-v', 'error', '-y', ...args]);
}

/**
 * A small test-pattern video of known rate and length (h264 in mp4, index at the end, or at
 * the front with `faststart`).
 */
export async function makeVideo(
  path: string,
  options: { seconds?: number; fps?: number; size?: string; faststart?: boolean } = {},
): Promise<string> {
  const { seconds = 2, fps = 10, size = '160x120', faststart = false } = options;
  await ffmpeg([
    '-f',
    'lavfi',
    '-i',
    `testsrc=size=${size}:rate=${fps}:duration=${seconds}`,
    '-c:v',
    'libx264',
    '-preset',
    'ultrafast',
    '-pix_fmt',
    'yuv420p',
    ...(faststart ? ['-movflags', '+faststart'] : []),
    path,
  ]);
  return path;
}

/** A FrameExtractor over the test's infrastructure, with its queues under `keyPrefix`. */
export function testExtractor(
  infra: Infra,
  options: {
    keyPrefix: string;
    batchSize?: number;
    timeoutMs?: number;
    storage?: VideoStorage;
    frameMaxSize?: number;
  },
): { extractor: FrameExtractor; frames: QueueAdmin<FrameJob> } {
  const frames = frameQueue({ keyPrefix: options.keyPrefix });
  const registry = createMetricsRegistry({ service: 'test', processMetrics: false });
  const admin = new QueueAdmin(frames, infra.redis);
  const extractor = new FrameExtractor(
    new VideoRepository(infra.db),
    new FrameRepository(infra.db),
    options.storage ?? infra.storage,
    new QueueProducer(frames, infra.redis),
    infra.redis,
    createExtractorMetrics(registry, {
      videos: new QueueAdmin(videoQueue({ keyPrefix: options.keyPrefix }), infra.redis),
      frames: admin,
    }),
    createLogger({ service: 'test', level: 'silent' }),
    {
      ffmpeg: 'ffmpeg',
      ffprobe: 'ffprobe',
      batchSize: options.batchSize ?? 4,
      timeoutMs: options.timeoutMs ?? 60_000,
      jpegQuality: 5,
      frameMaxSize: options.frameMaxSize ?? DEFAULT_FRAME_MAX_SIZE,
      keyPrefix: options.keyPrefix,
      tmpDir: infra.workDir,
    },
  );
  return { extractor, frames: admin };
}

/** A video job for `videoId`, as a consumer would hand it to the extractor. */
export function videoJob(videoId: string): Job<VideoJob> {
  return {
    id: `video:${videoId}`,
    group: videoId,
    enqueuedAt: Date.now(),
    data: { videoId },
    payload: '',
  };
}
