import { postgresSettingArgs as settingArgs } from '@framewise/stack';

/** How a test server was obtained. */
export type InfraSource = 'env' | 'docker' | 'local';

/**
 * A private server the harness started, which a test can crash and bring back. Servers taken
 * from the environment (REDIS_URL, DATABASE_URL) are never handed out as these: the harness
 * never kills what it did not start.
 */
export interface CrashableServer {
  readonly source: InfraSource;
  /** Connection URL, stable across kill / start. */
  readonly url: string;
  /** SIGKILL the server (and its child processes): no shutdown, no final flush. */
  kill(): Promise<void>;
  /** Start it again on the same port with the same data directory. */
  start(): Promise<void>;
  /** kill() then start(). */
  restart(): Promise<void>;
  /** Graceful stop; removes its data. */
  stop(): Promise<void>;
}

export interface RedisServer extends CrashableServer {
  readonly appendfsync: AppendFsync;
}

export interface PostgresServer extends CrashableServer {
  /** URL of database `name` on this server. */
  databaseUrl(name: string): string;
}

export type AppendFsync = 'always' | 'everysec' | 'no';

export interface RedisOptions {
  /** AOF fsync policy; AOF itself is always on. Default `everysec`. */
  readonly appendfsync?: AppendFsync;
}

/**
 * An S3-compatible server for tests: Ceph's RADOS Gateway run from local binaries, MinIO in
 * Docker, or whatever S3_ENDPOINT names. It checks SigV4 signatures like AWS does.
 */
export interface S3Server {
  readonly source: InfraSource;
  /** `http://127.0.0.1:PORT`; use path-style addressing. */
  readonly endpoint: string;
  readonly region: string;
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  /** Stops the server and removes its data. */
  stop(): Promise<void>;
}

export interface PostgresOptions {
  /**
   * Server settings (`-c name=value`) on top of {@link TEST_POSTGRES_SETTINGS}, e.g.
   * `{ shared_buffers: '1GB' }` for a benchmark. Command-line settings win over ALTER SYSTEM.
   */
  readonly settings?: Readonly<Record<string, string>>;
}

/**
 * What every test Postgres runs with: fsync off for speed, but synchronous_commit left on, so
 * a commit returns only after its WAL reached the OS and a SIGKILL of the server loses nothing
 * committed (only a machine crash could). The crash tests rely on that.
 */
export const TEST_POSTGRES_SETTINGS: Readonly<Record<string, string>> = {
  fsync: 'off',
  full_page_writes: 'off',
  max_connections: '300',
  shared_buffers: '128MB',
};

/** `-c name=value` arguments for the defaults plus `overrides`; rejects malformed names. */
export function postgresSettingArgs(overrides: Readonly<Record<string, string>> = {}): string[] {
  return settingArgs({ ...TEST_POSTGRES_SETTINGS, ...overrides });
}
