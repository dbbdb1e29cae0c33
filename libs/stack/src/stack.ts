import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import type { HostEnv, RunAs } from './servers/binaries';
import { INSTALL_HINTS, findPostgresBin, findRedisServer, postgresRunAs } from './servers/binaries';
import { PostgresProcess, initPostgresDataDir } from './servers/postgres-server';
import { freePort } from './servers/ports';
import { isAlive, killTree } from './servers/processes';
import { RedisProcess } from './servers/redis-server';
import type { Role, ServiceProcess } from './service-process';
import { ROLES, launchService, runEntry } from './service-process';

/** Where videos and frames live: a directory under the data dir, or an S3 bucket. */
export type StackStorage =
  | { readonly kind: 'local' }
  | {
      readonly kind: 's3';
      readonly endpoint: string;
      readonly bucket: string;
      readonly accessKeyId: string;
      readonly secretAccessKey: string;
      readonly region?: string;
    };

export interface StackOptions {
  /**
   * Everything the stack writes: `redis/` (AOF), `postgres/` (the cluster), `frames/` (local
   * storage), `tmp/` (upload staging), `logs/<process>.log`, `api-key.json`, `stack.json`.
   * Created when missing; a second start on the same directory keeps the data.
   */
  readonly dataDir: string;
  /** The ONNX model every worker loads (WORKER_MODEL_PATH). */
  readonly modelPath: string;
  /** Processes per role (defaults 1; at least 1 API, always exactly one at start). */
  readonly workers?: number;
  readonly extractors?: number;
  readonly reapers?: number;
  /** Redis AOF fsync policy (default `everysec`). */
  readonly redisAppendFsync?: 'everysec' | 'always';
  /**
   * Extra environment for every service (LOG_LEVEL, WORKER_BATCH_MAX, REAPER_*…). It wins
   * over the stack's defaults, except for the ports and consumer ids the stack assigns.
   */
  readonly env?: Readonly<Record<string, string>>;
  /** The API's port (default 0: a free port). */
  readonly apiPort?: number;
  /** The API's bind address (default 127.0.0.1). */
  readonly apiHost?: string;
  /** Default `{ kind: 'local' }`: `<dataDir>/frames`. */
  readonly storage?: StackStorage;
  /** Every line a service prints (JSON log lines), with the process's name (`worker-2`). */
  readonly onLog?: (service: string, line: string) => void;
  /**
   * The caller's environment (pass `process.env`). Binaries are looked up on its PATH (and
   * FRAMEWISE_REDIS_SERVER, FRAMEWISE_PG_BIN, FRAMEWISE_PG_USER); services inherit only
   * PATH, HOME, TMPDIR, LANG, LC_ALL and TZ from it, nothing else (so a stray REDIS_URL in
   * the caller's environment never reaches them).
   */
  readonly hostEnv: HostEnv;
  /** Redis key prefix of every service (default `fw:`). */
  readonly keyPrefix?: string;
  /** Postgres `-c` settings (e.g. `{ fsync: 'off' }` for throwaway test stacks). */
  readonly postgresSettings?: Readonly<Record<string, string>>;
  /** How long a service may take to answer /readyz (default 120 s: tsx compiles at start). */
  readonly readyTimeoutMs?: number;
  /** How long `terminate()` / `stop()` wait after SIGTERM before SIGKILL (default 30 s). */
  readonly stopTimeoutMs?: number;
  /** The repository root holding services/ and libs/ (default: found from this file). */
  readonly rootDir?: string;
}

/** A crashable private server of the stack; its URL stays the same across kill / start. */
export interface StackServer {
  /** SIGKILL (with its children): no shutdown, no final flush. */
  kill(): Promise<void>;
  /** Start it again on the same port from its data (Redis replays the AOF). */
  start(): Promise<void>;
  /** kill() then start(). */
  restart(): Promise<void>;
}

export interface Stack {
  /** `http://127.0.0.1:<port>` of the API (`/v1`, `/healthz`, `/readyz`, `/metrics`). */
  readonly apiUrl: string;
  /** A key the API accepts (`Authorization: Bearer <apiKey>`), kept in `<dataDir>/api-key.json`. */
  readonly apiKey: string;
  readonly redisUrl: string;
  /** The `framewise` database, as the services use it (superuser `postgres`, trust auth). */
  readonly databaseUrl: string;
  readonly keyPrefix: string;
  readonly dataDir: string;
  /** The environment the services run with (before per-process ports and ids). */
  readonly serviceEnv: Readonly<Record<string, string>>;
  readonly redis: StackServer;
  readonly postgres: StackServer;
  /** Live service processes (all, or one role's), oldest first. */
  processes(role?: Role): ServiceProcess[];
  /** Starts one more process of that role; resolves once its /readyz answers. */
  spawn(role: Role): Promise<ServiceProcess>;
  /** SIGTERM every service and wait (SIGKILL after the stop timeout), then stop Redis and Postgres. */
  stop(): Promise<void>;
}

/** Variables a service inherits from the caller's environment; everything else is set here. */
const INHERITED = ['PATH', 'HOME', 'TMPDIR', 'LANG', 'LC_ALL', 'TZ'] as const;

const DATABASE = 'framewise';

/**
 * Starts a whole framewise system from local binaries: Redis (AOF) and Postgres in `dataDir`,
 * the migrations, an API key, then the API, extractors, workers and reapers as child
 * processes, each ready (`/readyz`) before this resolves. On failure everything started is
 * stopped and the error names the process and quotes its output.
 */
export async function startStack(options: StackOptions): Promise<Stack> {
  const dataDir = path.resolve(options.dataDir);
  const hostEnv = options.hostEnv;
  const rootDir = options.rootDir ?? path.resolve(__dirname, '../../..');
  if (!fs.existsSync(options.modelPath)) {
    throw new Error(`model file not found: ${options.modelPath}`);
  }
  const redisBinary = findRedisServer(hostEnv);
  if (!redisBinary) throw new Error(`No redis-server: ${INSTALL_HINTS.redis}.`);
  const pgBin = findPostgresBin(hostEnv);
  if (!pgBin) throw new Error(`No PostgreSQL server binaries: ${INSTALL_HINTS.postgres}.`);
  const runAs = postgresRunAs(hostEnv);
  if ('error' in runAs) throw new Error(`Cannot run Postgres: ${runAs.error}.`);

  for (const sub of ['redis', 'postgres', 'frames', 'tmp', 'logs']) {
    fs.mkdirSync(path.join(dataDir, sub), { recursive: true });
  }
  // Postgres may run as another user (as root): it must reach its directory.
  fs.chmodSync(dataDir, 0o755);
  assertReachable(dataDir, runAs);
  const tracker = new PidTracker(dataDir);
  tracker.claim();

  const redis = new RedisProcess({
    binary: redisBinary,
    dir: path.join(dataDir, 'redis'),
    port: await freePort(),
    appendfsync: options.redisAppendFsync ?? 'everysec',
    detached: true,
  });
  const pgDir = path.join(dataDir, 'postgres');
  if (!fs.existsSync(path.join(pgDir, 'data', 'PG_VERSION'))) {
    fs.rmSync(path.join(pgDir, 'data'), { recursive: true, force: true });
    initPostgresDataDir(pgBin, runAs, path.join(pgDir, 'data'), {
      sync: options.postgresSettings?.fsync !== 'off',
    });
  }
  const postgres = new PostgresProcess({
    bin: pgBin,
    runAs,
    dir: pgDir,
    port: await freePort(),
    settings: { max_connections: '200', ...options.postgresSettings },
    detached: true,
  });

  const services: ServiceProcess[] = [];
  const children = new Set<ChildProcess>();
  const killAll = () => {
    for (const child of children) if (child.pid !== undefined) killTree(child.pid);
    for (const server of [redis, postgres]) if (server.pid !== undefined) killTree(server.pid);
  };
  process.on('exit', killAll);

  const teardown = async () => {
    process.off('exit', killAll);
    await Promise.all(services.map((s) => s.terminate()));
    await Promise.all([redis.shutdown(), postgres.shutdown()]);
    tracker.release();
  };

  try {
    await Promise.all([redis.start(), postgres.start()]);
    tracker.add(redis.pid, postgres.pid);
    await createDatabase(postgres.url, DATABASE);

    const keyPrefix = options.keyPrefix ?? 'fw:';
    const workers = options.workers ?? 1;
    const storage = options.storage ?? { kind: 'local' };
    const inherited = Object.fromEntries(
      INHERITED.flatMap((name) => {
        const value = hostEnv[name];
        return value === undefined ? [] : [[name, value]];
      }),
    );
    const serviceEnv: Record<string, string> = {
      ...inherited,
      FRAMEWISE_STACK_DIR: dataDir,
      LOG_LEVEL: 'info',
      LOG_FORMAT: 'json',
      REDIS_URL: redis.url,
      REDIS_REQUIRE_DURABILITY: 'true',
      REDIS_KEY_PREFIX: keyPrefix,
      DATABASE_URL: postgres.databaseUrl(DATABASE),
      OPS_HOST: '127.0.0.1',
      INGESTION_TMP_DIR: path.join(dataDir, 'tmp'),
      WORKER_MODEL_PATH: path.resolve(options.modelPath),
      // Workers share the cores; onnxruntime would otherwise start one thread per core each.
      WORKER_THREADS: String(Math.max(1, Math.floor(os.availableParallelism() / workers))),
      ...storageEnv(storage, dataDir),
      ...options.env,
    };
    await runEntry('migrate', rootDir, serviceEnv);

    const apiPort = options.apiPort ?? 0;
    const apiHost = options.apiHost ?? '127.0.0.1';
    const counters = new Map<Role, number>();
    const logsDir = path.join(dataDir, 'logs');
    const readyTimeoutMs = options.readyTimeoutMs ?? 120_000;
    const stopTimeoutMs = options.stopTimeoutMs ?? 30_000;

    const launch = async (
      role: Role,
      name: string,
      port: number,
      replacing?: ServiceProcess,
    ): Promise<ServiceProcess> => {
      const host = role === 'api' ? (apiHost === '0.0.0.0' ? '127.0.0.1' : apiHost) : '127.0.0.1';
      const env: Record<string, string> = {
        ...serviceEnv,
        ...(role === 'api' ? { PORT: String(port), HOST: apiHost } : { OPS_PORT: String(port) }),
        ...(role === 'worker' ? { WORKER_CONSUMER_ID: name } : {}),
        ...(role === 'extractor' ? { EXTRACTOR_CONSUMER_ID: name } : {}),
      };
      const started = await launchService({
        role,
        name,
        rootDir,
        env,
        opsUrl: `http://${host}:${port}`,
        logFile: path.join(logsDir, `${name}.log`),
        readyTimeoutMs,
        stopTimeoutMs,
        onLog: options.onLog,
        onSpawn: (child) => {
          children.add(child);
          if (child.pid !== undefined) tracker.add(child.pid);
          child.once('exit', () => {
            children.delete(child);
          });
        },
        restart: async (old) => {
          await old.kill();
          return launch(role, name, port, old);
        },
      });
      const at = replacing === undefined ? -1 : services.indexOf(replacing);
      if (at === -1) services.push(started);
      else services[at] = started;
      return started;
    };

    const spawnRole = async (role: Role): Promise<ServiceProcess> => {
      const n = (counters.get(role) ?? 0) + 1;
      counters.set(role, n);
      const port = role === 'api' && n === 1 && apiPort !== 0 ? apiPort : await freePort();
      return launch(role, `${role}-${n}`, port);
    };

    const api = await spawnRole('api');
    const apiUrl = api.opsUrl;
    const apiKey = await ensureApiKey(dataDir, apiUrl, rootDir, serviceEnv);
    const counts: Record<Exclude<Role, 'api'>, number> = {
      extractor: options.extractors ?? 1,
      worker: workers,
      reaper: options.reapers ?? 1,
    };
    await Promise.all(
      (['extractor', 'worker', 'reaper'] as const).flatMap((role) =>
        Array.from({ length: counts[role] }, () => spawnRole(role)),
      ),
    );

    let stopping: Promise<void> | undefined;
    return {
      apiUrl,
      apiKey,
      redisUrl: redis.url,
      databaseUrl: postgres.databaseUrl(DATABASE),
      keyPrefix,
      dataDir,
      serviceEnv,
      redis: serverHandle(redis, tracker),
      postgres: serverHandle(postgres, tracker),
      processes: (role) => services.filter((s) => role === undefined || s.role === role),
      spawn: spawnRole,
      stop: () => {
        stopping ??= teardown();
        return stopping;
      },
    };
  } catch (error) {
    await teardown().catch(() => undefined);
    throw error;
  }
}

export { ROLES };

function serverHandle(server: RedisProcess | PostgresProcess, tracker: PidTracker): StackServer {
  const start = async () => {
    await server.start();
    tracker.add(server.pid);
  };
  return {
    kill: () => server.kill(),
    start,
    restart: async () => {
      await server.kill();
      await start();
    },
  };
}

function storageEnv(storage: StackStorage, dataDir: string): Record<string, string> {
  switch (storage.kind) {
    case 'local':
      return { STORAGE_BACKEND: 'local', STORAGE_LOCAL_ROOT: path.join(dataDir, 'frames') };
    case 's3':
      return {
        STORAGE_BACKEND: 's3',
        S3_ENDPOINT: storage.endpoint,
        S3_BUCKET: storage.bucket,
        S3_ACCESS_KEY_ID: storage.accessKeyId,
        S3_SECRET_ACCESS_KEY: storage.secretAccessKey,
        S3_REGION: storage.region ?? 'us-east-1',
        S3_FORCE_PATH_STYLE: 'true',
      };
  }
}

async function createDatabase(adminUrl: string, name: string): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    const found = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (found.rowCount === 0) await client.query(`CREATE DATABASE "${name}"`);
  } finally {
    await client.end();
  }
}

/**
 * The API key kept in `<dataDir>/api-key.json` when the API still accepts it (the same
 * Postgres data: keys live in `api_keys`, so a Redis wipe does not lose them), else a new one
 * created with the keys entry and saved there (mode 0600).
 */
async function ensureApiKey(
  dataDir: string,
  apiUrl: string,
  rootDir: string,
  env: Readonly<Record<string, string>>,
): Promise<string> {
  const file = path.join(dataDir, 'api-key.json');
  try {
    const saved = JSON.parse(fs.readFileSync(file, 'utf8')) as { key?: unknown };
    if (typeof saved.key === 'string' && (await accepted(apiUrl, saved.key))) return saved.key;
  } catch {
    // none saved yet, or unreadable: make one
  }
  const out = await runEntry('keys', rootDir, env, ['create', 'local-stack']);
  const line = out.trim().split('\n').pop() ?? '';
  const created = JSON.parse(line) as { key?: unknown };
  if (typeof created.key !== 'string') throw new Error(`keys create printed no key: ${out}`);
  fs.writeFileSync(file, `${JSON.stringify(created)}\n`, { mode: 0o600 });
  return created.key;
}

async function accepted(apiUrl: string, key: string): Promise<boolean> {
  const response = await fetch(`${apiUrl}/v1/videos?limit=1`, {
    headers: { authorization: `Bearer ${key}` },
  });
  await response.body?.cancel();
  return response.ok;
}

/**
 * `<dataDir>/stack.json`: which process owns the stack and the pids it started. A second
 * stack on the same directory is refused while the owner lives; after the owner died without
 * stopping (SIGKILL), its leftovers are killed before anything starts.
 */
class PidTracker {
  private readonly file: string;
  private readonly pids = new Set<number>();

  constructor(private readonly dataDir: string) {
    this.file = path.join(dataDir, 'stack.json');
  }

  claim(): void {
    let previous: { ownerPid?: number; pids?: number[] } | undefined;
    try {
      previous = JSON.parse(fs.readFileSync(this.file, 'utf8')) as typeof previous;
    } catch {
      previous = undefined;
    }
    const owner = previous?.ownerPid;
    if (owner !== undefined && owner !== process.pid && isAlive(owner)) {
      throw new Error(
        `another framewise stack (pid ${owner}) runs on ${this.dataDir}; stop it first (Ctrl-C in its terminal, or kill ${owner})`,
      );
    }
    for (const pid of previous?.pids ?? []) {
      if (belongsTo(pid, this.dataDir)) killTree(pid);
    }
    this.write();
  }

  add(...pids: (number | undefined)[]): void {
    for (const pid of pids) if (pid !== undefined) this.pids.add(pid);
    this.write();
  }

  release(): void {
    fs.rmSync(this.file, { force: true });
  }

  private write(): void {
    fs.writeFileSync(this.file, JSON.stringify({ ownerPid: process.pid, pids: [...this.pids] }));
  }
}

/** Fails, saying which folder to open, when `runAs` cannot traverse down to `dir`. */
function assertReachable(dir: string, runAs: RunAs): void {
  if (runAs.uid === process.getuid?.()) return;
  for (let at = dir; ; at = path.dirname(at)) {
    const stat = fs.statSync(at);
    const ok =
      stat.uid === runAs.uid ||
      (stat.mode & 0o001) !== 0 ||
      (stat.gid === runAs.gid && (stat.mode & 0o010) !== 0);
    if (!ok) {
      throw new Error(
        `Postgres runs as uid ${runAs.uid} and cannot enter ${at} (mode ${(stat.mode & 0o777).toString(8)}); put the data directory elsewhere or run \`chmod o+x ${at}\``,
      );
    }
    if (at === path.dirname(at)) return;
  }
}

/** Whether a live pid is one of this data dir's processes (guards against recycled pids). */
function belongsTo(pid: number, dataDir: string): boolean {
  if (!isAlive(pid)) return false;
  if (process.platform !== 'linux') return true;
  const read = (file: string) => {
    try {
      return fs.readFileSync(`/proc/${pid}/${file}`, 'utf8');
    } catch {
      return '';
    }
  };
  return (
    read('cmdline').includes(dataDir) ||
    read('environ').includes(`FRAMEWISE_STACK_DIR=${dataDir}\0`)
  );
}
