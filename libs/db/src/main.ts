// `npm run db:migrate`: applies pending migrations to DATABASE_URL and exits (0 on success,
// 1 on failure). Run it before rolling out a new version, or let services migrate at start
// with DATABASE_MIGRATE_ON_START=true. Safe to run while other replicas migrate.
import { ConfigError, describeConfig, fragments, loadConfig, z } from '@framewise/config';
import { createLogger } from '@framewise/observability';
import { createDatabase } from './connect';
import { migrateToLatest } from './migrate';

async function main(): Promise<number> {
  const schema = z.object({ ...fragments.logging, ...fragments.database });
  let config: z.output<typeof schema>;
  try {
    config = loadConfig(schema, process.env, { service: 'db-migrate' });
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      return 1;
    }
    throw error;
  }
  const logger = createLogger({
    service: 'db-migrate',
    level: config.LOG_LEVEL,
    format: config.LOG_FORMAT,
  });
  logger.info({ config: describeConfig(schema, config) }, 'applying migrations');
  const db = createDatabase({
    url: config.DATABASE_URL,
    maxConnections: 2,
    applicationName: 'db-migrate',
  });
  try {
    const report = await migrateToLatest(db);
    logger.info(
      { applied: report.applied, known: report.known },
      report.applied.length === 0
        ? 'schema already current'
        : `applied ${report.applied.length} migration(s)`,
    );
    return 0;
  } catch (error) {
    logger.error({ err: error }, 'migration failed; the schema is unchanged');
    return 1;
  } finally {
    await db.destroy();
  }
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(
      `${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exitCode = 1;
  },
);
