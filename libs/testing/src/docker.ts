import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type { StartedTestContainer } from 'testcontainers';
import type {
  AppendFsync,
  PostgresOptions,
  PostgresServer,
  RedisOptions,
  RedisServer,
  S3Server,
} from './servers';
import { postgresSettingArgs } from './servers';

/**
 * Docker-backed servers through testcontainers, used when a Docker daemon answers. The
 * module is imported lazily, so machines without Docker never load it.
 *
 * kill() stops the container with no grace period (docker sends SIGKILL at once) and keeps
 * it; start() starts the same container again with its data. Docker may map a new host port
 * on restart, so the URL is re-read after start().
 */

const REDIS_IMAGE = 'redis:7-alpine';
const POSTGRES_IMAGE = 'postgres:16-alpine';

/** True when a Docker daemon answers `/_ping` within `timeoutMs`. */
export async function dockerAnswers(timeoutMs = 1000): Promise<boolean> {
  const target = dockerTarget();
  if (!target) return false;
  return new Promise((resolve) => {
    const req = http.request(
      { ...target, path: '/_ping', method: 'GET', timeout: timeoutMs },
      (res) => {
        res.resume();
        resolve(res.statusCode === 200);
      },
    );
    req.on('timeout', () => {
      req.destroy();
      resolve(false);
    });
    req.on('error', () => {
      resolve(false);
    });
    req.end();
  });
}

function dockerTarget(): { socketPath: string } | { host: string; port: number } | undefined {
  const host = process.env.DOCKER_HOST;
  if (host?.startsWith('unix://')) return { socketPath: host.slice('unix://'.length) };
  if (host?.startsWith('tcp://')) {
    const url = new URL(host.replace('tcp://', 'http://'));
    return { host: url.hostname, port: Number(url.port || 2375) };
  }
  if (host !== undefined && host !== '') return undefined; // ssh:// and others: leave to testcontainers
  for (const socketPath of [
    '/var/run/docker.sock',
    `${process.env.HOME ?? ''}/.docker/run/docker.sock`,
  ]) {
    if (fs.existsSync(socketPath)) return { socketPath };
  }
  return undefined;
}

abstract class ContainerServer {
  readonly source = 'docker' as const;
  protected constructor(
    protected container: StartedTestContainer,
    private readonly internalPort: number,
  ) {}

  protected get hostPort(): string {
    return `${this.container.getHost()}:${this.container.getMappedPort(this.internalPort)}`;
  }

  async kill(): Promise<void> {
    await this.container.stop({ timeout: 0, remove: false });
  }

  async start(): Promise<void> {
    await this.container.restart({ timeout: 0 });
  }

  async restart(): Promise<void> {
    await this.container.restart({ timeout: 0 });
  }

  async stop(): Promise<void> {
    await this.container.stop({ remove: true });
  }
}

class DockerRedis extends ContainerServer implements RedisServer {
  constructor(
    container: StartedTestContainer,
    readonly appendfsync: AppendFsync,
  ) {
    super(container, 6379);
  }
  get url(): string {
    return `redis://${this.hostPort}`;
  }
}

class DockerPostgres extends ContainerServer implements PostgresServer {
  constructor(container: StartedTestContainer) {
    super(container, 5432);
  }
  get url(): string {
    return this.databaseUrl('postgres');
  }
  databaseUrl(name: string): string {
    return `postgres://postgres@${this.hostPort}/${encodeURIComponent(name)}`;
  }
}

export async function startDockerRedis(options: RedisOptions = {}): Promise<RedisServer> {
  const { GenericContainer, Wait } = await import('testcontainers');
  const appendfsync = options.appendfsync ?? 'everysec';
  const container = await new GenericContainer(REDIS_IMAGE)
    .withCommand([
      'redis-server',
      '--appendonly',
      'yes',
      '--appendfsync',
      appendfsync,
      '--save',
      '',
      '--maxmemory-policy',
      'noeviction',
    ])
    .withExposedPorts(6379)
    .withWaitStrategy(Wait.forLogMessage('Ready to accept connections'))
    .start();
  return new DockerRedis(container, appendfsync);
}

export async function startDockerPostgres(options: PostgresOptions = {}): Promise<PostgresServer> {
  const { GenericContainer, Wait } = await import('testcontainers');
  const container = await new GenericContainer(POSTGRES_IMAGE)
    .withEnvironment({ POSTGRES_HOST_AUTH_METHOD: 'trust' })
    .withCommand(['postgres', ...postgresSettingArgs(options.settings)])
    .withTmpFs({ '/var/lib/postgresql/data': 'rw' })
    .withExposedPorts(5432)
    .withWaitStrategy(Wait.forLogMessage('database system is ready to accept connections', 2))
    .start();
  return new DockerPostgres(container);
}

const MINIO_IMAGE = 'minio/minio:latest';

class DockerMinio implements S3Server {
  readonly source = 'docker' as const;
  readonly region = 'us-east-1';
  constructor(
    private readonly container: StartedTestContainer,
    readonly accessKeyId: string,
    readonly secretAccessKey: string,
  ) {}
  get endpoint(): string {
    return `http://${this.container.getHost()}:${this.container.getMappedPort(9000)}`;
  }
  async stop(): Promise<void> {
    await this.container.stop({ remove: true });
  }
}

/** MinIO in a container, data on tmpfs, with a random root user as the S3 credentials. */
export async function startDockerMinio(): Promise<S3Server> {
  const { GenericContainer, Wait } = await import('testcontainers');
  const accessKeyId = `fw${randomBytes(8).toString('hex')}`;
  const secretAccessKey = randomBytes(20).toString('hex');
  const container = await new GenericContainer(MINIO_IMAGE)
    .withEnvironment({ MINIO_ROOT_USER: accessKeyId, MINIO_ROOT_PASSWORD: secretAccessKey })
    .withCommand(['server', '/data'])
    .withTmpFs({ '/data': 'rw' })
    .withExposedPorts(9000)
    .withWaitStrategy(Wait.forHttp('/minio/health/ready', 9000))
    .start();
  return new DockerMinio(container, accessKeyId, secretAccessKey);
}
