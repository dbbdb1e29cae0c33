import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import type { RunAs } from './binaries';
import type { LaunchSpec } from './server-process';
import { LocalServerProcess } from './server-process';

export interface PostgresProcessOptions {
  /** Directory holding `initdb` and `postgres` (see `findPostgresBin`). */
  readonly bin: string;
  /** Who runs the server (see `postgresRunAs`). */
  readonly runAs: RunAs;
  /**
   * The instance directory: `data/` (an initdb'd cluster, see {@link initPostgresDataDir}),
   * `socket/` and `postgres.log`. The caller creates `data/`; `socket/` is created here.
   */
  readonly dir: string;
  readonly port: number;
  /** Server settings passed as `-c name=value` (they win over postgresql.conf). */
  readonly settings?: Readonly<Record<string, string>>;
  /** Own process group: a Ctrl-C in the terminal reaches only the supervisor, which stops it. */
  readonly detached?: boolean;
}

/**
 * A PostgreSQL cluster from local binaries on 127.0.0.1, trust auth, superuser `postgres`.
 * `kill()` then `start()` recovers from the WAL (PostgreSQL sees the stale postmaster.pid
 * names a dead process).
 */
export class PostgresProcess extends LocalServerProcess {
  readonly port: number;
  /** Fast shutdown: abort sessions, no waiting for clients. */
  protected readonly stopSignal = 'SIGINT';
  private readonly bin: string;
  private readonly runAs: RunAs;
  private readonly settingArgs: readonly string[];
  private readonly detached: boolean;

  constructor(options: PostgresProcessOptions) {
    super(
      options.dir,
      `private Postgres on port ${options.port}`,
      path.join(options.dir, 'postgres.log'),
    );
    this.bin = options.bin;
    this.runAs = options.runAs;
    this.port = options.port;
    this.settingArgs = postgresSettingArgs(options.settings ?? {});
    this.detached = options.detached ?? false;
    const socket = path.join(options.dir, 'socket');
    fs.mkdirSync(socket, { recursive: true });
    fs.chownSync(options.dir, this.runAs.uid, this.runAs.gid);
    fs.chownSync(socket, this.runAs.uid, this.runAs.gid);
  }

  /** URL of the `postgres` database. */
  get url(): string {
    return this.databaseUrl('postgres');
  }

  databaseUrl(name: string): string {
    return `postgres://postgres@127.0.0.1:${this.port}/${encodeURIComponent(name)}`;
  }

  protected launchSpec(): LaunchSpec {
    // prettier-ignore
    const argv = [
      ...this.runAs.prefix,
      path.join(this.bin, 'postgres'),
      '-D', path.join(this.dir, 'data'),
      '-p', String(this.port),
      '-k', path.join(this.dir, 'socket'),
      '-c', 'listen_addresses=127.0.0.1',
      '-c', 'logging_collector=off',
      ...this.settingArgs,
    ];
    const logFd = fs.openSync(path.join(this.dir, 'postgres.log'), 'a');
    fs.fchownSync(logFd, this.runAs.uid, this.runAs.gid);
    return {
      command: argv[0] ?? 'postgres',
      args: argv.slice(1),
      options: { stdio: ['ignore', logFd, logFd], detached: this.detached },
      afterSpawn: () => {
        fs.closeSync(logFd);
      },
      ready: () => canConnect(this.url),
      timeoutMs: 30_000,
      intervalMs: 25,
    };
  }
}

/** `-c name=value` arguments; rejects malformed setting names. */
export function postgresSettingArgs(settings: Readonly<Record<string, string>>): string[] {
  return Object.entries(settings).flatMap(([name, value]) => {
    if (!/^[a-z][a-z0-9_.]*$/.test(name)) throw new Error(`not a Postgres setting name: ${name}`);
    return ['-c', `${name}=${value}`];
  });
}

/**
 * Runs `initdb` into `dataDir` (which must not exist or be empty) as `runAs`: superuser
 * `postgres`, trust auth, UTF8, C locale. `sync: false` skips the final fsync (tests).
 */
export function initPostgresDataDir(
  bin: string,
  runAs: RunAs,
  dataDir: string,
  options: { readonly sync?: boolean } = {},
): void {
  fs.mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  fs.chmodSync(dataDir, 0o700);
  fs.chownSync(dataDir, runAs.uid, runAs.gid);
  const [command, ...args] = [
    ...runAs.prefix,
    path.join(bin, 'initdb'),
    '-D',
    dataDir,
    '-U',
    'postgres',
    '--auth=trust',
    '--encoding=UTF8',
    '--locale=C',
    ...(options.sync === false ? ['--no-sync'] : []),
    '--no-instructions',
  ];
  const out = spawnSync(command, args, { encoding: 'utf8' });
  if (out.status !== 0) {
    throw new Error(`initdb failed (${String(out.status)}):\n${out.stderr || out.stdout}`);
  }
}

/** The server version (`16.4`) of the binaries in `bin`. */
export function postgresVersion(bin: string): string {
  return spawnSync(path.join(bin, 'postgres'), ['--version'], { encoding: 'utf8' })
    .stdout.trim()
    .replace(/[^0-9.]+/g, '');
}

async function canConnect(url: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 1000 });
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.query('SELECT 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}
