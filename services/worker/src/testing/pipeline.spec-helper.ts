// Test fixtures for the worker's integration tests: a migrated database, the red-square model,
// frames with red squares at known places, and videos seeded the way the extractor leaves them
// (frames stored, manifest written, jobs enqueued, status `detecting`).
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Kysely } from 'kysely';
import sharp from 'sharp';
import { frameJobEntry, frameKey, frameQueue } from '@framewise/contracts';
import type { Database } from '@framewise/db';
import { FrameRepository, VideoRepository, createDatabase, migratedTemplate } from '@framewise/db';
import { writeRedSquareModel } from '@framewise/detector';
import type { QueueDefinition, RedisClient } from '@framewise/queue';
import type { FrameJob } from '@framewise/contracts';
import { QueueProducer } from '@framewise/queue';
import type { VideoStorage } from '@framewise/storage';
import { createTestDatabase } from '@framewise/testing';

/** Frame size; with the model's 320 input the letterbox gain is 1, so boxes come back exact. */
export const FRAME_WIDTH = 320;
export const FRAME_HEIGHT = 240;
export const SQUARE = 40;

/** A fresh migrated database (cloned from a template) on the shared or given server. */
export async function migratedDatabase(serverUrl?: string): Promise<{
  readonly db: Kysely<Database>;
  readonly url: string;
  close(): Promise<void>;
}> {
  const database = await createTestDatabase({
    ...(serverUrl === undefined ? {} : { serverUrl }),
    template: migratedTemplate(),
  });
  const db = createDatabase({ url: database.url, maxConnections: 4 });
  return {
    db,
    url: database.url,
    close: async () => {
      await db.destroy();
      await database.drop();
    },
  };
}

/** A temp directory with the red-square model (320×320, dynamic batch) and a storage root. */
export async function workspace(): Promise<{
  readonly dir: string;
  readonly modelPath: string;
  readonly storageRoot: string;
  remove(): Promise<void>;
}> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'fw-worker-'));
  const modelPath = path.join(dir, 'red.onnx');
  await writeRedSquareModel(modelPath, { inputSize: 320 });
  const storageRoot = path.join(dir, 'storage');
  await fs.mkdir(storageRoot);
  return {
    dir,
    modelPath,
    storageRoot,
    remove: () => fs.rm(dir, { recursive: true, force: true }),
  };
}

/** Where frame `index`'s red square is: `[x1, y1, x2, y2]` in frame pixels. */
export function expectedBox(index: number): [number, number, number, number] {
  const x = 20 + 20 * (index % 10);
  const y = 40 + 20 * (index % 5);
  return [x, y, x + SQUARE, y + SQUARE];
}

/** A JPEG of frame `index`: a blue background with one red square at {@link expectedBox}. */
export async function frameImage(index: number): Promise<Buffer> {
  const [x, y] = expectedBox(index);
  const square = await sharp({
    create: { width: SQUARE, height: SQUARE, channels: 3, background: '#ff0000' },
  })
    .png()
    .toBuffer();
  return sharp({
    create: { width: FRAME_WIDTH, height: FRAME_HEIGHT, channels: 3, background: '#2878c8' },
  })
    .composite([{ input: square, left: x, top: y }])
    .jpeg({ quality: 95 })
    .toBuffer();
}

/** The frame queue under a test's key prefix. */
export function testQueue(keyPrefix: string, maxDeliveries = 5): QueueDefinition<FrameJob> {
  return frameQueue({ keyPrefix, maxDeliveries, retry: { baseDelayMs: 50, maxDelayMs: 200 } });
}

/**
 * A video as the extractor leaves it: frames stored, manifest rows written, then jobs enqueued,
 * status `detecting`. `corrupt` frames get bytes that are no image; `missing` ones no object.
 */
export async function seedVideo(options: {
  readonly db: Kysely<Database>;
  readonly storage: VideoStorage;
  readonly queue: QueueDefinition<FrameJob>;
  readonly redis: RedisClient;
  readonly frames: number;
  readonly corrupt?: readonly number[];
  readonly missing?: readonly number[];
  /** Enqueue the jobs (default true). */
  readonly enqueue?: boolean;
  /**
   * The frames are stored this many times smaller than the video (the extractor's
   * EXTRACT_FRAME_MAX_SIZE): the jobs say the video's size, results come in its pixels.
   */
  readonly downscaledBy?: number;
}): Promise<{ readonly videoId: string; readonly model: string }> {
  const videos = new VideoRepository(options.db);
  const video = await videos.create({
    originalFilename: 'squares.mp4',
    contentType: 'video/mp4',
    sizeBytes: 1000,
    storageKey: 'videos/x/original.mp4',
    sampling: { kind: 'fps', fps: 1 },
    cameraId: 'cam-test',
    recordedAt: new Date('2026-01-01T00:00:00Z'),
    modelName: 'red-square',
    modelVersion: '1',
  });
  await videos.transition(video.id, 'extracting');
  const indexes = Array.from({ length: options.frames }, (_, i) => i);
  for (const i of indexes) {
    if (options.missing?.includes(i)) continue;
    const bytes = options.corrupt?.includes(i)
      ? Buffer.from('this is not a jpeg')
      : await frameImage(i);
    await options.storage.put(frameKey(video.id, i), bytes);
  }
  await new FrameRepository(options.db).insertManifest(
    video.id,
    indexes.map((i) => ({ index: i, timeMs: i * 1000, storageKey: frameKey(video.id, i) })),
  );
  if (options.enqueue !== false) {
    await new QueueProducer(options.queue, options.redis).enqueue(
      indexes.map((i) =>
        frameJobEntry({
          videoId: video.id,
          frameIndex: i,
          storageKey: frameKey(video.id, i),
          model: video.model,
          ...(options.downscaledBy === undefined
            ? {}
            : {
                sourceSize: {
                  width: FRAME_WIDTH * options.downscaledBy,
                  height: FRAME_HEIGHT * options.downscaledBy,
                },
              }),
        }),
      ),
    );
  }
  await videos.transition(video.id, 'detecting', { extractedFrames: options.frames });
  return { videoId: video.id, model: video.model };
}

/** Per manifest frame of a video: how many results and failures it has. */
export async function frameOutcomes(
  db: Kysely<Database>,
  videoId: string,
): Promise<{ frameIndex: number; results: number; failures: number }[]> {
  const rows = await db
    .selectFrom('frames as f')
    .where('f.video_id', '=', videoId)
    .select((eb) => [
      'f.frame_index as frameIndex',
      eb
        .selectFrom('frame_results as r')
        .whereRef('r.video_id', '=', 'f.video_id')
        .whereRef('r.frame_index', '=', 'f.frame_index')
        .select(eb.fn.countAll<string>().as('n'))
        .as('results'),
      eb
        .selectFrom('frame_failures as x')
        .whereRef('x.video_id', '=', 'f.video_id')
        .whereRef('x.frame_index', '=', 'f.frame_index')
        .select(eb.fn.countAll<string>().as('n'))
        .as('failures'),
    ])
    .orderBy('f.frame_index')
    .execute();
  return rows.map((r) => ({
    frameIndex: r.frameIndex,
    results: Number(r.results ?? 0),
    failures: Number(r.failures ?? 0),
  }));
}

/** Every frame has exactly one result or one failure, never both, never none. */
export function exactlyOnce(outcomes: readonly { results: number; failures: number }[]): boolean {
  return outcomes.every((o) => o.results + o.failures === 1);
}

/** Polls `condition` every 100 ms until it holds or `timeoutMs` passes. */
export async function waitFor(
  what: string,
  condition: () => Promise<boolean>,
  timeoutMs = 30_000,
): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (await condition()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}
