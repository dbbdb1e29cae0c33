import { Migrator, sql } from 'kysely';
import { createTestDatabase } from '@framewise/testing';
import type { TestDatabase } from '@framewise/testing';
import { createDatabase } from './connect';
import { MigrationError } from './errors';
import { MIGRATIONS } from './migrations';
import { appliedMigrations, migrateToLatest, prepareSchema } from './migrate';
import { FrameRepository } from './repositories/frames.repository';
import { ResultRepository } from './repositories/results.repository';
import { VideoRepository } from './repositories/videos.repository';
import { det, manifest, upload } from './testing.spec-helper';

const ALL = Object.keys(MIGRATIONS);

describe('migrations', () => {
  let database: TestDatabase;

  beforeEach(async () => {
    database = await createTestDatabase(); // empty: no template
  });

  afterEach(async () => {
    await database.drop();
  });

  it('build the schema from an empty database, then have nothing left to do', async () => {
    const db = createDatabase({ url: database.url });
    try {
      expect(await migrateToLatest(db)).toEqual({ applied: ALL, known: ALL });
      const tables = await sql<{ table_name: string }>`
        SELECT table_name FROM information_schema.tables
        WHERE table_schema = 'public' AND table_name NOT LIKE 'kysely%' ORDER BY 1`.execute(db);
      expect(tables.rows.map((r) => r.table_name)).toEqual([
        'api_keys',
        'frame_class_counts',
        'frame_class_hours',
        'frame_failures',
        'frame_results',
        'frames',
        'videos',
      ]);
      expect(await migrateToLatest(db)).toEqual({ applied: [], known: ALL });
      expect(await appliedMigrations(db)).toEqual(ALL);
      await expect(prepareSchema(db, { migrate: false })).resolves.toEqual({
        applied: [],
        known: ALL,
      });
    } finally {
      await db.destroy();
    }
  });

  it('backfill the hourly rollup from results written before migration 0002', async () => {
    const db = createDatabase({ url: database.url });
    try {
      const initialOnly = new Migrator({
        db,
        provider: {
          getMigrations: () =>
            Promise.resolve({ '0001-initial-schema': MIGRATIONS['0001-initial-schema']! }),
        },
      });
      expect((await initialOnly.migrateToLatest()).error).toBeUndefined();
      const video = await new VideoRepository(db).create(
        upload({ cameraId: 'cam-1', recordedAt: new Date('2025-03-01T10:59:59Z') }),
      );
      await new FrameRepository(db).insertManifest(video.id, manifest(2));
      await new ResultRepository(db).insertResults(
        [[det('car'), det('car')], [det('car')]].map((detections, i) => ({
          videoId: video.id,
          frameIndex: i,
          model: video.model,
          detections,
        })),
      );
      await migrateToLatest(db);
      const { rows } = await sql`
        SELECT hour, camera_id, class, detections, frames FROM frame_class_hours
        ORDER BY hour`.execute(db);
      expect(rows).toEqual([
        {
          hour: new Date('2025-03-01T10:00:00Z'),
          camera_id: 'cam-1',
          class: 'car',
          detections: 2,
          frames: 1,
        },
        {
          hour: new Date('2025-03-01T11:00:00Z'),
          camera_id: 'cam-1',
          class: 'car',
          detections: 1,
          frames: 1,
        },
      ]);
    } finally {
      await db.destroy();
    }
  });

  it('refuse to start a service on a schema that is behind, unless told to migrate', async () => {
    const db = createDatabase({ url: database.url });
    try {
      await expect(prepareSchema(db, { migrate: false })).rejects.toThrow(MigrationError);
      await expect(prepareSchema(db, { migrate: false })).rejects.toThrow(/npm run db:migrate/);
      expect((await prepareSchema(db, { migrate: true })).applied).toEqual(ALL);
    } finally {
      await db.destroy();
    }
  });

  it('are applied exactly once when many replicas start together', async () => {
    // Separate pools, as separate processes would have: kysely's advisory lock serializes them.
    const replicas = Array.from({ length: 6 }, () => createDatabase({ url: database.url }));
    try {
      const reports = await Promise.all(replicas.map((db) => migrateToLatest(db)));
      const applied = reports.flatMap((r) => r.applied);
      expect(applied).toEqual(ALL);
      const first = replicas[0]!;
      const rows = await sql<{ n: string }>`SELECT count(*) AS n FROM kysely_migration`.execute(
        first,
      );
      expect(Number(rows.rows[0]?.n)).toBe(ALL.length);
    } finally {
      await Promise.all(replicas.map((db) => db.destroy()));
    }
  });

  it('roll back entirely when a migration fails, and say which one', async () => {
    const db = createDatabase({ url: database.url });
    try {
      // A table the initial migration wants to create makes it fail half way.
      await sql`CREATE TABLE frames (x int)`.execute(db);
      const error = await migrateToLatest(db).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(MigrationError);
      expect((error as MigrationError).migration).toBe(ALL[0]);
      // videos was created before the failure, inside the same transaction: gone again.
      const videos = await sql<{
        t: string | null;
      }>`SELECT to_regclass('videos')::text AS t`.execute(db);
      expect(videos.rows[0]?.t).toBeNull();
    } finally {
      await db.destroy();
    }
  });

  it('can be reverted by their down functions', async () => {
    const db = createDatabase({ url: database.url });
    try {
      await migrateToLatest(db);
      for (const name of [...ALL].reverse()) await MIGRATIONS[name]!.down!(db);
      const left = await sql<{ n: string }>`
        SELECT count(*) AS n FROM information_schema.tables
        WHERE table_schema = 'public' AND table_name NOT LIKE 'kysely%'`.execute(db);
      expect(Number(left.rows[0]?.n)).toBe(0);
    } finally {
      await db.destroy();
    }
  });
});
