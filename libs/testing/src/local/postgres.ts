import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { PostgresProcess, initPostgresDataDir, postgresVersion } from '@framewise/stack';
import type { PostgresOptions, PostgresServer } from '../servers';
import { TEST_POSTGRES_SETTINGS, postgresSettingArgs } from '../servers';
import type { RunAs } from './binaries';
import { INSTALL_HINTS, findPostgresBin, postgresRunAs } from './binaries';
import { freePort } from './ports';
import { createInstanceDir, harnessRoot, recordPid, removeInstanceDir } from './processes';

/**
 * A private PostgreSQL cluster in its own instance directory under the harness root, on a
 * free port, trust auth, user `postgres` (the server itself is @framewise/stack's
 * PostgresProcess). `initdb` runs once per machine and PostgreSQL version: its data directory
 * is kept as a template and copied for each cluster, so a cluster starts in a few hundred ms.
 *
 * It runs with TEST_POSTGRES_SETTINGS from ../servers (fast, yet a SIGKILL loses nothing committed).
 */
export class LocalPostgres extends PostgresProcess implements PostgresServer {
  readonly source = 'local' as const;

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
      // cp -a keeps the owner and the 0700 mode PostgreSQL insists on.
      run('cp', ['-a', template, path.join(dir, 'data')]);
      const server = new LocalPostgres({
        bin,
        runAs,
        dir,
        port: await freePort(),
        settings: { ...TEST_POSTGRES_SETTINGS, ...options.settings },
      });
      await server.start();
      return server;
    } catch (error) {
      removeInstanceDir(dir);
      throw error;
    }
  }

  protected override onSpawned(pid: number): void {
    recordPid(this.dir, pid);
  }

  /** Graceful (fast) stop, then its directory is removed. */
  async stop(): Promise<void> {
    await this.shutdown();
    removeInstanceDir(this.dir);
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
  const root = harnessRoot();
  const template = path.join(root, `pg-template-${postgresVersion(bin)}-uid${runAs.uid}`);
  if (fs.existsSync(path.join(template, 'PG_VERSION'))) return template;

  fs.mkdirSync(root, { recursive: true, mode: 0o755 });
  fs.chmodSync(root, 0o755);
  const building = fs.mkdtempSync(`${template}.building-`);
  try {
    initPostgresDataDir(bin, runAs, building, { sync: false });
  } catch (error) {
    fs.rmSync(building, { recursive: true, force: true });
    throw error;
  }
  try {
    fs.renameSync(building, template);
  } catch {
    // Another process finished first; use theirs.
    fs.rmSync(building, { recursive: true, force: true });
  }
  return template;
}
