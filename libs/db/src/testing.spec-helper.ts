import type { Kysely } from 'kysely';
import type { TestDatabase } from '@framewise/testing';
import { createTestDatabase } from '@framewise/testing';
import { createDatabase } from './connect';
import { migratedTemplate } from './migrate';
import type { ManifestFrame } from './repositories/frames.repository';
import type { NewVideo } from './repositories/videos.repository';
import type { Database, Detection } from './schema';

/** A fresh database with the current schema (cloned from a migrated template) and a client. */
export async function migratedDatabase(): Promise<{
  readonly db: Kysely<Database>;
  readonly database: TestDatabase;
  close(): Promise<void>;
}> {
  const database = await createTestDatabase({ template: migratedTemplate() });
  const db = createDatabase({ url: database.url, maxConnections: 12 });
  return {
    db,
    database,
    close: async () => {
      await db.destroy();
      await database.drop();
    },
  };
}

/** An upload as the API would record it; override what a test cares about. */
export function upload(overrides: Partial<NewVideo> = {}): NewVideo {
  return {
    originalFilename: 'street.mp4',
    contentType: 'video/mp4',
    sizeBytes: 12_345_678,
    storageKey: 'videos/x/original.mp4',
    sampling: { kind: 'fps', fps: 1 },
    cameraId: 'cam-1',
    recordedAt: new Date('2025-03-01T12:00:00Z'),
    modelName: 'yolo11n',
    modelVersion: '8.3.0',
    ...overrides,
  };
}

/** `n` manifest frames one second apart. */
export function manifest(n: number, firstIndex = 0): ManifestFrame[] {
  return Array.from({ length: n }, (_, k) => ({
    index: firstIndex + k,
    timeMs: (firstIndex + k) * 1000,
    storageKey: `frames/${firstIndex + k}.jpg`,
  }));
}

/** A detection of `cls` (score 0.9 unless given). */
export function det(cls: string, score = 0.9): Detection {
  return { class: cls, classId: cls.length, score, box: [1, 2, 30, 40] };
}
