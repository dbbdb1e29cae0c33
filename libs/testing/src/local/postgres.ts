import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import type { PostgresOptions, PostgresServer } from '../servers';
import { postgresSettingArgs } from '../servers';
import type { RunAs } from './binaries';
import { INSTALL_HINTS, findPostgresBin, postgresRunAs } from './binaries';
import { freePort } from './ports';
import { createInstanceDir, harnessRoot, removeInstanceDir } from './processes';
import type { LaunchSpec } from './server-process';
import { LocalServerProcess } from './server-process';

/**
 * A private PostgreSQL cluster in a temp directory, on a free port, trust auth, user
 * `postgres`. `initdb` runs once per machine and PostgreSQL version: its data directory is
 * kept as a template and copied for each cluster, so a cluster starts in a few hundred ms.
 *
 * It runs with TEST_POSTGRES_SETTINGS from ../servers (fast, yet a SIGKILL loses nothing committed).
 */
export class LocalPostgres extends LocalServerProcess implements PostgresServer {
  readonly source = 'local' as const;
  /** Fast shutdown: abort sessions, no waiting for clients. */
  protected readonly stopSignal = 'SIGINT';

  private constructor(
    private readonly bin: string,
    private readonly runAs: RunAs,
    dir: string,
    readonly port: number,
    private readonly options: PostgresOptions,
  ) {
    super(dir, `private Postgres on port ${port}`, path.join(dir, 'postgres.log'));
  }

  /** Whether server binaries exist here (running them may still need a non-root user). */
  static available(): boolean {
    return findPostgresBin() !== undefined;
  }

  static async create(options: PostgresOptions = {}): Promise<LocalPostgres> {
    const bin = findPostgresBin();
    if (!bin)
      throw new Error(
        `No PostgreSQL server binaries for a private test Postgres: ${INSTALL_HINTS.postgres}.`,
      );
    postgresSettingArgs(options.settings); // a malformed setting fails here, before any work
    const runAs = postgresRunAs();
    if ('error' in runAs) throw new Error(`Cannot start a private test Postgres: ${runAs.error}.`);

    const template = ensureTemplateDataDir(bin, runAs);
    const dir = createInstanceDir('postgres');
    try {
      const data = path.join(dir, 'data');
      // cp -a keeps the owner and the 0700 mode PostgreSQL insists on.
      run('cp', ['-a', template, data]);
      fs.mkdirSync(path.join(dir, 'socket'));
      fs.chownSync(dir, runAs.uid, runAs.gid);
      fs.chownSync(path.join(dir, 'socket'), runAs.uid, runAs.gid);
      const server = new LocalPostgres(bin, runAs, dir, await freePort(), options);
      await server.start();
      return server;
    } catch (error) {
      removeInstanceDir(dir);
      throw error;
    }
  }

  get url(): string {
    return this.databaseUrl('postgres');
  }

  databaseUrl(name: string): string {
    return `postgres://postgres@127.0.0.1:${this.port}/${encodeURIComponent(name)}`;
  }

  protected launchSpec(): LaunchSpec {
    // A killed postmaster leaves postmaster.pid behind; PostgreSQL checks that the pid in it is
    // not running and recovers from the WAL on start.
    // prettier-ignore
    const argv = [
      ...this.runAs.prefix,
      path.join(this.bin, 'postgres'),
      '-D', path.join(this.dir, 'data'),
      '-p', String(this.port),
      '-k', path.join(this.dir, 'socket'),
      '-c', 'listen_addresses=127.0.0.1',
      '-c', 'logging_collector=off',
      ...postgresSettingArgs(this.options.settings),
    ];
    const logFd = fs.openSync(path.join(this.dir, 'postgres.log'), 'a');
    fs.fchownSync(logFd, this.runAs.uid, this.runAs.gid);
    return {
      command: argv[0] ?? 'postgres',
      args: argv.slice(1),
      options: { stdio: ['ignore', logFd, logFd] },
      afterSpawn: () => {
        fs.closeSync(logFd);
      },
      ready: () => canConnect(this.url),
      timeoutMs: 30_000,
      intervalMs: 25,
    };
  }
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

function run(command: string, args: readonly string[]): void {
  const out = spawnSync(command, args, { encoding: 'utf8' });
  if (out.status !== 0) {
    throw new Error(`${command} ${args.join(' ')} failed (${String(out.status)}): ${out.stderr}`);
  }
}

/**
 * The initdb'd data directory every private cluster is copied from, made once per machine and
 * server version. Built beside its final path and renamed into place, so concurrent first
 * runs never see a half-made template.
 */
function ensureTemplateDataDir(bin: string, runAs: RunAs): string {
  const version = spawnSync(path.join(bin, 'postgres'), ['--version'], { encoding: 'utf8' })
    .stdout.trim()
    .replace(/[^0-9.]+/g, '');
  const root = harnessRoot();
  const template = path.join(root, `pg-template-${version}-uid${runAs.uid}`);
  if (fs.existsSync(path.join(template, 'PG_VERSION'))) return template;

  fs.mkdirSync(root, { recursive: true, mode: 0o755 });
  fs.chmodSync(root, 0o755);
  const building = fs.mkdtempSync(`${template}.building-`);
  fs.chmodSync(building, 0o700);
  fs.chownSync(building, runAs.uid, runAs.gid);
  const initdb = [
    ...runAs.prefix,
    path.join(bin, 'initdb'),
    '-D',
    building,
    '-U',
    'postgres',
    '--auth=trust',
    '--encoding=UTF8',
    '--locale=C',
    '--no-sync',
    '--no-instructions',
  ];
  const [command, ...args] = initdb;
  const out = spawnSync(command ?? '', args, { encoding: 'utf8' });
  if (out.status !== 0) {
    fs.rmSync(building, { recursive: true, force: true });
    throw new Error(`initdb failed (${String(out.status)}):\n${out.stderr || out.stdout}`);
  }
  try {
    fs.renameSync(building, template);
  } catch {
    // Another process finished first; use theirs.
    fs.rmSync(building, { recursive: true, force: true });
  }
  return template;
}
