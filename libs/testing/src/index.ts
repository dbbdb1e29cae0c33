/**
 * @framewise/testing — real infrastructure for integration tests.
 *
 * Shared per run (started by jest's global setup of the `int` tier):
 *   - {@link sharedInfra}: the run's Redis and Postgres URLs;
 *   - {@link createTestDatabase}: a fresh database per test, cloned from a migrated template;
 *   - {@link uniqueKeyPrefix}: a Redis key prefix per test.
 *
 * Private per test, for crash tests: {@link startRedis} and {@link startPostgres} give a server
 * the test may SIGKILL and restart (`kill`, `start`, `restart`) and must `stop`.
 *
 * Servers come from, in order: REDIS_URL / DATABASE_URL (shared only; nothing started), a
 * Docker daemon answering within ~1 s (testcontainers), local binaries (redis-server,
 * initdb/postgres), or an error naming what to install.
 */
export { startRedis, startPostgres, privateBackend } from './backend';
export type { PrivateBackend } from './backend';
export {
  sharedInfra,
  startSharedInfra,
  uniqueKeyPrefix,
  sharedRedisClient,
  deleteKeysWithPrefix,
  createTestDatabase,
  dropRunDatabases,
  withDatabase,
  TEST_DATABASE_PREFIX,
} from './shared';
export type { SharedInfra, StartedSharedInfra, TemplateSpec, TestDatabase } from './shared';
export type {
  AppendFsync,
  CrashableServer,
  InfraSource,
  PostgresServer,
  RedisOptions,
  RedisServer,
} from './servers';
export { sweepOrphans, harnessRoot } from './local/processes';
export { INSTALL_HINTS } from './local/binaries';
