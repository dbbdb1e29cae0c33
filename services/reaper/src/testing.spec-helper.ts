// Fixtures for the reaper's integration tests: a migrated database and videos in `detecting`
// with a manifest (no frame files: the reaper never reads them).
import { Redis } from 'ioredis';
import type { Kysely } from 'kysely';
import { frameJobEntry, frameKey } from '@framewise/contracts';
import type { FrameJob } from '@framewise/contracts';
import type { Database } from '@framewise/db';
import { FrameRepository, VideoRepository, createDatabase, migratedTemplate } from '@framewise/db';
import { createTestDatabase, sharedInfra } from '@framewise/testing';

/** A fresh migrated database cloned from the shared template. */
export async function reaperDatabase(): Promise<{
  db: Kysely<Database>;
  close: () => Promise<void>;
}> {
  const database = await createTestDatabase({ template: migratedTemplate() });
  const db = createDatabase({ url: database.url, maxConnections: 6 });
  return {
    db,
    close: async () => {
      await db.destroy();
      await database.drop();
    },
  };
}

/**
 * Registers the hooks every reaper integration spec needs: a fresh migrated database and a
 * client of the shared Redis, opened before the file's tests and closed after them. `use`
 * receives them once they are open (assign them to the spec's module-level variables).
 */
export function withReaperBackends(
  use: (backends: { db: Kysely<Database>; redis: Redis }) => void,
): void {
  let close: (() => Promise<void>) | undefined;
  let redis: Redis | undefined;
  beforeAll(async () => {
    const { db, close: closeDb } = await reaperDatabase();
    close = closeDb;
    redis = new Redis(sharedInfra().redisUrl);
    use({ db, redis });
  });
  afterAll(async () => {
    redis?.disconnect();
    await close?.();
  });
}

/** A video in `detecting` with `frames` manifest rows; returns its id and frame jobs. */
export async function detectingVideo(
  db: Kysely<Database>,
  frames: number,
): Promise<{
  videoId: string;
  model: string;
  jobs: { id: string; group: string; data: FrameJob }[];
}> {
  const videos = new VideoRepository(db);
  const video = await videos.create({
    originalFilename: 'v.mp4',
    contentType: 'video/mp4',
    sizeBytes: 1,
    storageKey: 'videos/x/original.mp4',
    sampling: { kind: 'fps', fps: 1 },
    modelName: 'red-square',
    modelVersion: '1',
  });
  await videos.transition(video.id, 'extracting');
  const indexes = Array.from({ length: frames }, (_, i) => i);
  await new FrameRepository(db).insertManifest(
    video.id,
    indexes.map((i) => ({ index: i, timeMs: i * 1000, storageKey: frameKey(video.id, i) })),
  );
  await videos.transition(video.id, 'detecting', { extractedFrames: frames });
  const jobs = indexes.map((i) =>
    frameJobEntry({
      videoId: video.id,
      frameIndex: i,
      storageKey: frameKey(video.id, i),
      model: video.model,
    }),
  );
  return { videoId: video.id, model: video.model, jobs };
}
