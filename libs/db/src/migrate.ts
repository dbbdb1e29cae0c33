import { createHash } from 'node:crypto';
import type { Kysely, MigrationResult } from 'kysely';
import { Migrator } from 'kysely';
import { createDatabase } from './connect';
import { MigrationError } from './errors';
import { MIGRATIONS } from './migrations';

/** What one `migrateToLatest` call did. */
export interface MigrationReport {
  /** Migrations this call applied, in order (empty when the schema was already current). */
  readonly applied: readonly string[];
  /** Every migration this code knows, in order. */
  readonly known: readonly string[];
}

function migrator<DB>(db: Kysely<DB>): Migrator {
  return new Migrator({
    db,
    provider: { getMigrations: () => Promise.resolve({ ...MIGRATIONS }) },
  });
}

/**
 * Applies every pending migration, in one transaction.
 *
 * Safe when several replicas start together: kysely's Postgres adapter holds a session-level
 * advisory lock (`pg_advisory_lock`) around the whole run, and creates its bookkeeping tables
 * tolerating a concurrent creator; the replicas that wait find nothing left to do.
 *
 * @throws MigrationError when a migration fails (nothing is applied) or the database holds a
 *   migration this code does not know (an older build started against a newer schema).
 */
export async function migrateToLatest<DB>(db: Kysely<DB>): Promise<MigrationReport> {
  const { error, results } = await migrator(db).migrateToLatest();
  const applied = (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
  if (error !== undefined) {
    const failed = (results ?? []).find((r: MigrationResult) => r.status === 'Error');
    const reason = error instanceof Error ? error.message : JSON.stringify(error);
    throw new MigrationError(
      failed
        ? `migration ${failed.migrationName} failed, nothing was applied: ${reason}`
        : `migrations could not run: ${reason}`,
      failed?.migrationName,
      { cause: error },
    );
  }
  return { applied, known: Object.keys(MIGRATIONS) };
}

/** Names of the migrations already applied to this database, in order. */
export async function appliedMigrations<DB>(db: Kysely<DB>): Promise<string[]> {
  const all = await migrator(db).getMigrations();
  return all.filter((m) => m.executedAt !== undefined).map((m) => m.name);
}

/**
 * A short hash of the migration set (names and code). Test templates put it in their name, so
 * a long-lived test server never hands out a database built by older migrations.
 */
export function migrationSetHash(): string {
  const hash = createHash('sha256');
  for (const [name, migration] of Object.entries(MIGRATIONS)) {
    hash
      .update(name)
      .update(migration.up.toString())
      .update(migration.down?.toString() ?? '');
  }
  return hash.digest('hex').slice(0, 12);
}

/**
 * A migrated template database for tests (the `template` of @framewise/testing's
 * `createTestDatabase`): named by {@link migrationSetHash}, so a long-lived server rebuilds it
 * when migrations change, and filled once per server by running every migration.
 */
export function migratedTemplate(): { name: string; prepare(url: string): Promise<void> } {
  return {
    name: `db_${migrationSetHash()}`,
    prepare: async (url) => {
      const db = createDatabase({ url, maxConnections: 1 });
      try {
        await migrateToLatest(db);
      } finally {
        await db.destroy();
      }
    },
  };
}

/**
 * What a service calls at start, after connecting: with `migrate` it applies pending
 * migrations (safe from many replicas at once); without, it only checks that the schema is
 * current, so a service never runs against a schema older than its code.
 *
 * @throws MigrationError when migrating fails, or when not migrating and migrations are
 *   pending (the message says to run `npm run db:migrate`).
 */
export async function prepareSchema<DB>(
  db: Kysely<DB>,
  options: { readonly migrate: boolean },
): Promise<MigrationReport> {
  if (options.migrate) return migrateToLatest(db);
  const applied = new Set(await appliedMigrations(db));
  const known = Object.keys(MIGRATIONS);
  const pending = known.filter((name) => !applied.has(name));
  if (pending.length > 0) {
    throw new MigrationError(
      `the database schema is behind this build (pending: ${pending.join(', ')}); run \`npm run db:migrate\` or set DATABASE_MIGRATE_ON_START=true`,
      undefined,
    );
  }
  return { applied: [], known };
}
