/**
 * @framewise/testing — real infrastructure for integration tests.
 *
 * Shared per run (started by jest's global setup of the `int` tier):
 *   - {@link sharedInfra}: the run's Redis and Postgres URLs;
 *   - {@link createTestDatabase}: a fresh database per test, cloned from a migrated template;
 *   - {@link uniqueKeyPrefix}: a Redis key prefix per test.
 *
 * S3, shared per run but started only when a selected test file asks for it with the pragma
 * `@framewise-needs s3` in a docblock at its top (read by the workspace's jest sequencer):
 *   - {@link sharedS3}: the run's S3 endpoint and keys (path-style);
 *   - {@link createTestBucket}: a bucket and key prefix per test, with `destroy()`;
 *   - {@link s3ClientConfigOf}: client settings for it (checksums WHEN_REQUIRED).
 *
 * Private per test, for crash tests: {@link startRedis} and {@link startPostgres} give a server
 * the test may SIGKILL and restart (`kill`, `start`, `restart`) and must `stop`;
 * {@link startS3} gives an S3 server of the test's own.
 *
 * A service entry (main.ts, a CLI) as a real process a test may SIGKILL:
 * {@link startEntryProcess}.
 *
 * Servers come from, in order: REDIS_URL / DATABASE_URL / S3_ENDPOINT (+ S3_ACCESS_KEY_ID,
 * S3_SECRET_ACCESS_KEY, optional S3_REGION, S3_FORCE_PATH_STYLE, S3_BUCKET) (shared only;
 * nothing started), a Docker daemon answering within ~1 s (testcontainers: Redis, Postgres,
 * MinIO), local binaries (redis-server, initdb/postgres, and for S3 a private Ceph cluster:
 * ceph-mon, ceph-osd with an in-memory store and radosgw, about 5 s to start), or an error
 * naming what to install.
 */
export { startRedis, startPostgres, startS3, privateBackend } from './backend';
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
export {
  sharedS3,
  startSharedS3,
  createTestBucket,
  s3ClientConfigOf,
  deleteRunBuckets,
  NEEDS_ENV,
  TEST_BUCKET_PREFIX,
} from './s3';
export type { SharedS3, StartedSharedS3, TestBucket } from './s3';
export type {
  AppendFsync,
  CrashableServer,
  InfraSource,
  PostgresServer,
  RedisOptions,
  PostgresOptions,
  RedisServer,
  S3Server,
} from './servers';
export { TEST_POSTGRES_SETTINGS } from './servers';
export { sweepOrphans, harnessRoot } from './local/processes';
export { freePort } from './local/ports';
export { INSTALL_HINTS } from './local/binaries';
export { outputRead, startEntryProcess } from './entry-process';
export type { EntryProcess, EntrySpec } from './entry-process';
