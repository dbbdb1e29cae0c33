import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import pg from 'pg';
import { startPostgres, startRedis } from './backend';
import type { SharedS3, StartedSharedS3 } from './s3';
import { NEEDS_ENV, publishSharedS3, startSharedS3 } from './s3';
import type { InfraSource, PostgresServer, RedisServer } from './servers';

/**
 * The servers one test run shares. Jest's global setup starts them (or takes them from
 * REDIS_URL / DATABASE_URL) and publishes their URLs through these variables, which every
 * test worker inherits.
 */
export const SHARED_ENV = {
  redisUrl: 'FRAMEWISE_TEST_REDIS_URL',
  databaseUrl: 'FRAMEWISE_TEST_DATABASE_URL',
  runId: 'FRAMEWISE_TEST_RUN_ID',
  sources: 'FRAMEWISE_TEST_SOURCES',
} as const;

export interface SharedInfra {
  readonly runId: string;
  readonly redisUrl: string;
  /** Admin URL of the shared Postgres server (database `postgres`). */
  readonly databaseUrl: string;
  readonly sources: {
    readonly redis: InfraSource;
    readonly postgres: InfraSource;
    /** `off` when no selected test file asked for S3 (see {@link NEEDS_ENV}). */
    readonly s3?: InfraSource | 'off';
  };
}

export interface StartedSharedInfra extends SharedInfra {
  /** How long bringing the servers up took, in ms (they start in parallel). */
  readonly startupMs: number;
  /** How long S3 alone took, in ms, when it was started. */
  readonly s3StartupMs?: number;
  /** The run's S3 server, when one was needed. */
  readonly s3?: SharedS3;
  stop(): Promise<void>;
}

/** Whether the selected tests need S3: unknown (no sequencer ran) counts as yes. */
export function needsS3(env: NodeJS.ProcessEnv = process.env): boolean {
  const needs = env[NEEDS_ENV];
  return needs === undefined || needs.split(',').includes('s3');
}

/**
 * Brings up the run's shared Redis, Postgres and (when `s3`) S3 server, in parallel: explicit
 * settings from the environment first (REDIS_URL, DATABASE_URL, S3_ENDPOINT: nothing
 * started), else private servers (Docker or local binaries).
 */
export async function startSharedInfra(
  env: NodeJS.ProcessEnv = process.env,
  options: { s3?: boolean } = {},
): Promise<StartedSharedInfra> {
  const started = performance.now();
  const explicitRedis = nonEmpty(env.REDIS_URL);
  const explicitDatabase = nonEmpty(env.DATABASE_URL);
  let s3StartupMs: number | undefined;
  const results = await Promise.allSettled([
    explicitRedis === undefined
      ? startRedis({ appendfsync: 'everysec' })
      : Promise.resolve(undefined),
    explicitDatabase === undefined ? startPostgres() : Promise.resolve(undefined),
    options.s3 === true
      ? startSharedS3(env).then((s3) => {
          s3StartupMs = Math.round(performance.now() - started);
          return s3;
        })
      : Promise.resolve(undefined),
  ]);
  const [redis, postgres, s3] = results.map((r) =>
    r.status === 'fulfilled' ? r.value : undefined,
  ) as [RedisServer | undefined, PostgresServer | undefined, StartedSharedS3 | undefined];
  const stop = async () => {
    await Promise.allSettled([redis?.stop(), postgres?.stop(), s3?.stop()]);
  };
  const failed = results.find((r) => r.status === 'rejected');
  if (failed !== undefined) {
    // Stop what did start, so one failure leaves no servers behind.
    await stop();
    throw failed.reason;
  }
  const startupMs = Math.round(performance.now() - started);
  return {
    runId: randomBytes(4).toString('hex'),
    redisUrl: explicitRedis ?? urlOf(redis),
    databaseUrl: explicitDatabase ?? urlOf(postgres),
    sources: {
      redis: redis?.source ?? 'env',
      postgres: postgres?.source ?? 'env',
      s3: s3?.source ?? 'off',
    },
    startupMs,
    ...(s3StartupMs === undefined ? {} : { s3StartupMs }),
    ...(s3 === undefined ? {} : { s3 }),
    stop,
  };
}

function urlOf(server: RedisServer | PostgresServer | undefined): string {
  if (server === undefined) throw new Error('a server was neither configured nor started');
  return server.url;
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === '' ? undefined : value;
}

/** The shared servers of the current run, as published by the global setup. */
export function sharedInfra(): SharedInfra {
  const redisUrl = process.env[SHARED_ENV.redisUrl];
  const databaseUrl = process.env[SHARED_ENV.databaseUrl];
  const runId = process.env[SHARED_ENV.runId];
  if (!redisUrl || !databaseUrl || !runId) {
    throw new Error(
      'No shared test infrastructure: integration tests (*.int.spec.ts) must run through jest\'s "int" project, whose global setup starts Redis and Postgres (`npm run test:int`).',
    );
  }
  const sources = JSON.parse(process.env[SHARED_ENV.sources] ?? '{}') as SharedInfra['sources'];
  return { redisUrl, databaseUrl, runId, sources };
}

export function publishSharedInfra(infra: SharedInfra & { readonly s3?: SharedS3 }): void {
  if (infra.s3 !== undefined) publishSharedS3(infra.s3);
  process.env[SHARED_ENV.redisUrl] = infra.redisUrl;
  process.env[SHARED_ENV.databaseUrl] = infra.databaseUrl;
  process.env[SHARED_ENV.runId] = infra.runId;
  process.env[SHARED_ENV.sources] = JSON.stringify(infra.sources);
}

// --- Per-test isolation ------------------------------------------------------------------

/** A key prefix no other test uses, e.g. `t:queue:1a2b3c4d:`. Put it in front of every key. */
export function uniqueKeyPrefix(label = 'test'): string {
  const safe = label.replace(/[^a-zA-Z0-9_-]/g, '-').slice(0, 32);
  return `t:${safe}:${randomBytes(4).toString('hex')}:`;
}

/** A client of the run's shared Redis. The caller quits it. */
export function sharedRedisClient(): Redis {
  return new Redis(sharedInfra().redisUrl, { lazyConnect: false, maxRetriesPerRequest: 3 });
}

/** Deletes every key under `prefix` (SCAN, never KEYS). Returns how many it deleted. */
export async function deleteKeysWithPrefix(redis: Redis, prefix: string): Promise<number> {
  let cursor = '0';
  let deleted = 0;
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${escapeGlob(prefix)}*`, 'COUNT', 500);
    cursor = next;
    if (keys.length > 0) deleted += await redis.unlink(...keys);
  } while (cursor !== '0');
  return deleted;
}

function escapeGlob(value: string): string {
  return value.replace(/[*?[\]\\]/g, '\\$&');
}

export interface TemplateSpec {
  /**
   * Name of the template database. Include a version or a hash of your migrations in it, so a
   * long-lived server (DATABASE_URL) never hands out a stale schema.
   */
  readonly name: string;
  /** Fills the template once per server (runs migrations); called with its URL. */
  readonly prepare: (url: string) => Promise<void>;
}

export interface TestDatabase {
  readonly name: string;
  readonly url: string;
  /** Drops the database (terminating its connections). Optional: the run's teardown drops leftovers. */
  drop(): Promise<void>;
}

/** Prefix of every per-test database; the run id follows, so teardown drops only its own. */
export const TEST_DATABASE_PREFIX = 'fwt_';

/**
 * A fresh database for one test (file), cloned from `template` when given (for example a
 * migrated schema from libs/db), else empty. Cloning with CREATE DATABASE … TEMPLATE costs
 * milliseconds, so every test can have its own.
 */
export async function createTestDatabase(
  options: { template?: TemplateSpec; serverUrl?: string } = {},
): Promise<TestDatabase> {
  const serverUrl = options.serverUrl ?? sharedInfra().databaseUrl;
  const runId = process.env[SHARED_ENV.runId] ?? 'adhoc';
  const name = `${TEST_DATABASE_PREFIX}${runId}_${randomBytes(5).toString('hex')}`;
  await withAdmin(serverUrl, async (admin) => {
    const template = options.template
      ? await ensureTemplate(admin, serverUrl, options.template)
      : 'template0';
    await admin.query(`CREATE DATABASE ${quoteIdent(name)} TEMPLATE ${quoteIdent(template)}`);
  });
  return {
    name,
    url: withDatabase(serverUrl, name),
    drop: () =>
      withAdmin(serverUrl, (admin) =>
        admin
          .query(`DROP DATABASE IF EXISTS ${quoteIdent(name)} WITH (FORCE)`)
          .then(() => undefined),
      ),
  };
}

async function ensureTemplate(
  admin: pg.Client,
  serverUrl: string,
  spec: TemplateSpec,
): Promise<string> {
  const name = `fwtpl_${spec.name.replace(/[^a-zA-Z0-9_]/g, '_')}`.slice(0, 63);
  // Test files in parallel all ask for the template at once: one builds it, the rest wait.
  await admin.query('SELECT pg_advisory_lock(hashtext($1))', [name]);
  try {
    const exists = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (exists.rowCount === 0) {
      await admin.query(`CREATE DATABASE ${quoteIdent(name)} TEMPLATE template0`);
      try {
        await spec.prepare(withDatabase(serverUrl, name));
      } catch (error) {
        await admin.query(`DROP DATABASE IF EXISTS ${quoteIdent(name)} WITH (FORCE)`);
        throw error;
      }
      // No one may connect to it afterwards: CREATE DATABASE … TEMPLATE needs it idle.
      await admin.query(
        `ALTER DATABASE ${quoteIdent(name)} WITH IS_TEMPLATE true ALLOW_CONNECTIONS false`,
      );
    }
  } finally {
    await admin.query('SELECT pg_advisory_unlock(hashtext($1))', [name]);
  }
  return name;
}

/** Drops the per-test databases this run created (global teardown). */
export async function dropRunDatabases(serverUrl: string, runId: string): Promise<number> {
  return withAdmin(serverUrl, async (admin) => {
    const rows = await admin.query<{ datname: string }>(
      'SELECT datname FROM pg_database WHERE datname LIKE $1',
      [`${TEST_DATABASE_PREFIX}${runId}\\_%`],
    );
    for (const { datname } of rows.rows) {
      await admin.query(`DROP DATABASE IF EXISTS ${quoteIdent(datname)} WITH (FORCE)`);
    }
    return rows.rows.length;
  });
}

async function withAdmin<T>(serverUrl: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: serverUrl });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

export function withDatabase(serverUrl: string, name: string): string {
  const url = new URL(serverUrl);
  url.pathname = `/${encodeURIComponent(name)}`;
  return url.toString();
}

function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}
