import { dockerAnswers, startDockerMinio, startDockerPostgres, startDockerRedis } from './docker';
import { INSTALL_HINTS } from './local/binaries';
import { LocalPostgres } from './local/postgres';
import { LocalRadosgw } from './local/radosgw';
import { LocalRedis } from './local/redis';
import type {
  InfraSource,
  PostgresOptions,
  PostgresServer,
  RedisOptions,
  RedisServer,
  S3Server,
} from './servers';

/**
 * Where private servers come from: Docker when a daemon answers within about a second,
 * else local binaries. FRAMEWISE_TEST_BACKEND=docker|local forces one.
 */
export type PrivateBackend = Exclude<InfraSource, 'env'>;

let chosen: Promise<PrivateBackend> | undefined;

export function privateBackend(): Promise<PrivateBackend> {
  chosen ??= choose();
  return chosen;
}

async function choose(): Promise<PrivateBackend> {
  const forced = process.env.FRAMEWISE_TEST_BACKEND;
  if (forced === 'docker' || forced === 'local') return forced;
  if (forced !== undefined && forced !== '') {
    throw new Error(
      `FRAMEWISE_TEST_BACKEND must be docker or local, not ${JSON.stringify(forced)}`,
    );
  }
  return (await dockerAnswers(1000)) ? 'docker' : 'local';
}

/** A private Redis (AOF on) that the test owns: it may kill, restart and must stop it. */
export async function startRedis(options: RedisOptions = {}): Promise<RedisServer> {
  const backend = await privateBackend();
  if (backend === 'docker') return startDockerRedis(options);
  if (!LocalRedis.available()) throw missing('Redis', 'REDIS_URL', INSTALL_HINTS.redis);
  return LocalRedis.create(options);
}

/** A private PostgreSQL cluster that the test owns: it may kill, restart and must stop it. */
export async function startPostgres(options: PostgresOptions = {}): Promise<PostgresServer> {
  const backend = await privateBackend();
  if (backend === 'docker') return startDockerPostgres(options);
  if (!LocalPostgres.available())
    throw missing('PostgreSQL', 'DATABASE_URL', INSTALL_HINTS.postgres);
  return LocalPostgres.create(options);
}

/**
 * A private S3-compatible server that the test owns and must stop: MinIO in Docker, else a
 * local Ceph RADOS Gateway (about 5 s to start; share the run's one through `sharedS3()`
 * unless the test needs a server of its own).
 */
export async function startS3(): Promise<S3Server> {
  const backend = await privateBackend();
  if (backend === 'docker') return startDockerMinio();
  if (!LocalRadosgw.available())
    throw missing(
      'S3 server',
      'S3_ENDPOINT (with S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY)',
      INSTALL_HINTS.radosgw,
    );
  return LocalRadosgw.create();
}

function missing(what: string, variable: string, hint: string): Error {
  return new Error(
    `No ${what} for the tests. Either set ${variable} to a server the tests may use, start a Docker daemon (testcontainers), or ${hint}.`,
  );
}
