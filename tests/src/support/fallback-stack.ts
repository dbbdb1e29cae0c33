// A stop-gap launcher with the shape of @framewise/stack's `startStack` (the subset the e2e and
// bad-input suites use), for working before libs/stack lands: private Redis (AOF) and Postgres
// from @framewise/testing, a migrated database, then every service as its own process
// (`node --import tsx …/main.ts`, so a SIGKILL reaches the real process), each waited on
// until its /readyz answers 200.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { migratedTemplate } from '@framewise/db';
import { createTestDatabase, freePort, startPostgres, startRedis } from '@framewise/testing';

const ROOT = path.resolve(__dirname, '../../..');

export type Role = 'api' | 'extractor' | 'worker' | 'reaper';

const ENTRY: Record<Role, { main: string; tsconfig: string }> = {
  api: {
    main: 'services/ingestion/src/api/main.ts',
    tsconfig: 'services/ingestion/tsconfig.json',
  },
  extractor: {
    main: 'services/ingestion/src/extractor/main.ts',
    tsconfig: 'services/ingestion/tsconfig.json',
  },
  worker: { main: 'services/worker/src/main.ts', tsconfig: 'services/worker/tsconfig.json' },
  reaper: { main: 'services/reaper/src/main.ts', tsconfig: 'services/reaper/tsconfig.json' },
};

export interface FallbackProcess {
  readonly role: Role;
  readonly name: string;
  readonly pid: number;
  readonly opsUrl: string;
  readonly exited: Promise<number | null>;
  kill(): Promise<void>;
  terminate(): Promise<number | null>;
}

export interface FallbackStackOptions {
  readonly dataDir: string;
  readonly modelPath: string;
  readonly workers?: number;
  /** Extra environment of every service; pass PATH (ffmpeg, ffprobe) and HOME here. */
  readonly env?: Record<string, string>;
  readonly onLog?: (service: string, line: string) => void;
}

export interface FallbackStack {
  readonly apiUrl: string;
  readonly apiKey: string;
  readonly redisUrl: string;
  readonly databaseUrl: string;
  readonly keyPrefix: string;
  readonly dataDir: string;
  processes(role?: Role): FallbackProcess[];
  spawn(role: Role, env?: Record<string, string>): Promise<FallbackProcess>;
  stop(): Promise<void>;
}

/** Starts the whole system on this machine; `stop()` it in every case. */
export async function startFallbackStack(options: FallbackStackOptions): Promise<FallbackStack> {
  const storageRoot = path.join(options.dataDir, 'storage');
  const tmpDir = path.join(options.dataDir, 'tmp');
  await mkdir(storageRoot, { recursive: true });
  await mkdir(tmpDir, { recursive: true });
  const redis = await startRedis({ appendfsync: 'everysec' });
  const postgres = await startPostgres();
  const database = await createTestDatabase({
    serverUrl: postgres.url,
    template: migratedTemplate(),
  });
  const keyPrefix = 'fw:';
  const base: Record<string, string> = {
    LOG_LEVEL: 'warn',
    REDIS_URL: redis.url,
    DATABASE_URL: database.url,
    REDIS_KEY_PREFIX: keyPrefix,
    STORAGE_BACKEND: 'local',
    STORAGE_LOCAL_ROOT: storageRoot,
    INGESTION_TMP_DIR: tmpDir,
    WORKER_MODEL_PATH: options.modelPath,
    OPS_HOST: '127.0.0.1',
    HOST: '127.0.0.1',
    ...options.env,
  };
  const running: FallbackProcess[] = [];
  let counter = 0;
  let apiUrl = '';

  const spawnRole = async (role: Role, extra: Record<string, string> = {}) => {
    const opsPort = await freePort();
    const env: Record<string, string> = {
      ...base,
      TSX_TSCONFIG_PATH: path.join(ROOT, ENTRY[role].tsconfig),
      OPS_PORT: String(opsPort),
      ...extra,
    };
    const opsUrl = `http://127.0.0.1:${opsPort}`;
    if (role === 'api') {
      env.PORT = String(opsPort);
      apiUrl = opsUrl;
    }
    const name = `${role}-${++counter}`;
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, ENTRY[role].main)], {
      cwd: ROOT,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const proc = wrap(role, name, child, opsUrl, options.onLog);
    running.push(proc);
    await waitReady(opsUrl, proc, 60_000);
    return proc;
  };

  const stopAll = async () => {
    await Promise.all(running.map((p) => p.terminate()));
    await database.drop().catch(() => undefined);
    await postgres.stop();
    await redis.stop();
  };

  try {
    await spawnRole('api');
    const apiKey = await createKey(base);
    await Promise.all([
      spawnRole('extractor'),
      spawnRole('reaper', { REAPER_RECONCILE_GRACE: '5s', REAPER_RECONCILE_INTERVAL: '2s' }),
      ...Array.from({ length: options.workers ?? 1 }, () => spawnRole('worker')),
    ]);
    return {
      apiUrl,
      apiKey,
      redisUrl: redis.url,
      databaseUrl: database.url,
      keyPrefix,
      dataDir: options.dataDir,
      processes: (role) => running.filter((p) => role === undefined || p.role === role),
      spawn: (role, env) => spawnRole(role, env),
      stop: stopAll,
    };
  } catch (error) {
    await stopAll();
    throw error;
  }
}

function wrap(
  role: Role,
  name: string,
  child: ChildProcess,
  opsUrl: string,
  onLog?: (service: string, line: string) => void,
): FallbackProcess {
  const forward = (chunk: Buffer) => {
    for (const line of chunk.toString().split('\n')) if (line) onLog?.(name, line);
  };
  child.stdout?.on('data', forward);
  child.stderr?.on('data', forward);
  const exited = new Promise<number | null>((resolve) => {
    child.once('exit', (code) => {
      resolve(code);
    });
  });
  const alive = () => child.exitCode === null && child.signalCode === null;
  return {
    role,
    name,
    pid: child.pid ?? -1,
    opsUrl,
    exited,
    kill: async () => {
      if (alive()) child.kill('SIGKILL');
      await exited;
    },
    terminate: async () => {
      if (alive()) child.kill('SIGTERM');
      return exited;
    },
  };
}

async function waitReady(opsUrl: string, proc: FallbackProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const state = { exited: false };
  void proc.exited.then(() => {
    state.exited = true;
  });
  while (Date.now() < deadline) {
    if (state.exited) throw new Error(`${proc.name} exited before it was ready`);
    try {
      const response = await fetch(`${opsUrl}/readyz`);
      if (response.status === 200) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`${proc.name} not ready after ${timeoutMs} ms`);
}

/** Creates an API key with the ingestion service's own command. */
async function createKey(env: Record<string, string>): Promise<string> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', path.join(ROOT, 'services/ingestion/src/keys/main.ts'), 'create', 'e2e'],
    {
      cwd: ROOT,
      env: { ...env, TSX_TSCONFIG_PATH: path.join(ROOT, ENTRY.api.tsconfig) },
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  let out = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  if (code !== 0) throw new Error(`keys create exited with ${code}`);
  return (JSON.parse(out.trim()) as { key: string }).key;
}
