import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

/** What to install when a binary is missing; quoted verbatim in the harness's errors. */
export const INSTALL_HINTS = {
  redis:
    'install Redis 7 (Debian/Ubuntu: `apt-get install redis-server`; macOS: `brew install redis`)',
  postgres:
    'install PostgreSQL 14+ server binaries (Debian/Ubuntu: `apt-get install postgresql`; macOS: `brew install postgresql@16`), or set FRAMEWISE_PG_BIN to the directory holding initdb and postgres',
  radosgw:
    "install Ceph's RADOS Gateway and one monitor and OSD to run it on (Debian/Ubuntu: `apt-get install --no-install-recommends radosgw ceph-mon ceph-osd`)",
} as const;

/** Finds an executable on PATH. */
export function which(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (dir === '') continue;
    const candidate = path.join(dir, name);
    try {
      fs.accessSync(candidate, fs.constants.X_OK);
      return candidate;
    } catch {
      // keep looking
    }
  }
  return undefined;
}

export function findRedisServer(): string | undefined {
  return process.env.FRAMEWISE_REDIS_SERVER ?? which('redis-server');
}

/**
 * The directory holding PostgreSQL's `initdb` and `postgres`: FRAMEWISE_PG_BIN, then
 * `pg_config --bindir`, then the newest Debian-style /usr/lib/postgresql/<v>/bin, then PATH.
 */
export function findPostgresBin(): string | undefined {
  const has = (dir: string) =>
    fs.existsSync(path.join(dir, 'initdb')) && fs.existsSync(path.join(dir, 'postgres'));
  const fromEnv = process.env.FRAMEWISE_PG_BIN;
  if (fromEnv !== undefined && fromEnv !== '') return has(fromEnv) ? fromEnv : undefined;

  const pgConfig = which('pg_config');
  if (pgConfig) {
    const out = spawnSync(pgConfig, ['--bindir'], { encoding: 'utf8' });
    const dir = out.stdout.trim();
    if (out.status === 0 && has(dir)) return dir;
  }
  const debian = '/usr/lib/postgresql';
  if (fs.existsSync(debian)) {
    const versions = fs
      .readdirSync(debian)
      .filter((v) => /^\d+$/.test(v))
      .sort((a, b) => Number(b) - Number(a));
    for (const v of versions) {
      const dir = path.join(debian, v, 'bin');
      if (has(dir)) return dir;
    }
  }
  const initdb = which('initdb');
  if (initdb) {
    const dir = path.dirname(fs.realpathSync(initdb));
    if (has(dir)) return dir;
  }
  return undefined;
}

export interface RunAs {
  readonly uid: number;
  readonly gid: number;
  /** Prefix that runs a command as that user: `setpriv --reuid … --`. Empty when not needed. */
  readonly prefix: readonly string[];
}

/**
 * PostgreSQL refuses to run as root. As root, the harness runs it as the `postgres` user (the
 * Debian package creates it) through setpriv, which execs in place so the pid we hold is the
 * postmaster's own.
 */
export function postgresRunAs(): RunAs | { readonly error: string } {
  const uid = process.getuid?.() ?? 1000;
  const gid = process.getgid?.() ?? 1000;
  if (uid !== 0) return { uid, gid, prefix: [] };
  const user = process.env.FRAMEWISE_PG_USER ?? 'postgres';
  const id = spawnSync('id', ['-u', user], { encoding: 'utf8' });
  const gidOut = spawnSync('id', ['-g', user], { encoding: 'utf8' });
  if (id.status !== 0 || gidOut.status !== 0) {
    return {
      error: `tests run as root, and PostgreSQL refuses to run as root; no user "${user}" exists to run it as. Create one (\`useradd --system postgres\`; the Debian postgresql package does this) or set FRAMEWISE_PG_USER`,
    };
  }
  const setpriv = which('setpriv');
  if (!setpriv)
    return {
      error: 'tests run as root and need `setpriv` (util-linux) to drop to the postgres user',
    };
  const runUid = Number(id.stdout.trim());
  const runGid = Number(gidOut.stdout.trim());
  return {
    uid: runUid,
    gid: runGid,
    prefix: [setpriv, `--reuid=${runUid}`, `--regid=${runGid}`, '--clear-groups', '--'],
  };
}

/** The Ceph programs a private RADOS Gateway needs, by name. */
export const CEPH_PROGRAMS = [
  'monmaptool',
  'ceph-mon',
  'ceph-osd',
  'ceph',
  'radosgw',
  'radosgw-admin',
] as const;

export type CephProgram = (typeof CEPH_PROGRAMS)[number];

/**
 * Paths of the Ceph programs (FRAMEWISE_CEPH_BIN, else PATH), or undefined when any is
 * missing.
 */
export function findCephPrograms(): Record<CephProgram, string> | undefined {
  const dir = process.env.FRAMEWISE_CEPH_BIN;
  const found: Partial<Record<CephProgram, string>> = {};
  for (const name of CEPH_PROGRAMS) {
    const candidate = dir !== undefined && dir !== '' ? path.join(dir, name) : (which(name) ?? '');
    if (candidate === '' || !fs.existsSync(candidate)) return undefined;
    found[name] = candidate;
  }
  return found as Record<CephProgram, string>;
}
