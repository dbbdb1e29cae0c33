import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

/**
 * The environment binaries are looked up in: PATH, and the overrides FRAMEWISE_REDIS_SERVER
 * (a redis-server executable), FRAMEWISE_PG_BIN (the directory holding initdb and postgres)
 * and FRAMEWISE_PG_USER (the user Postgres runs as when we are root; default `postgres`).
 * Callers pass their `process.env`.
 */
export type HostEnv = Readonly<Record<string, string | undefined>>;

/** What to install when a binary is missing; quoted verbatim in errors. */
export const INSTALL_HINTS = {
  redis:
    'install Redis 7 (Debian/Ubuntu: `apt-get install redis-server`; macOS: `brew install redis`)',
  postgres:
    'install PostgreSQL 14+ server binaries (Debian/Ubuntu: `apt-get install postgresql`; macOS: `brew install postgresql@16`), or set FRAMEWISE_PG_BIN to the directory holding initdb and postgres',
  radosgw:
    "install Ceph's RADOS Gateway and one monitor and OSD to run it on (Debian/Ubuntu: `apt-get install --no-install-recommends radosgw ceph-mon ceph-osd`)",
} as const;

/** Finds an executable on the PATH of `env`. */
export function which(name: string, env: HostEnv): string | undefined {
  for (const dir of (env.PATH ?? '').split(path.delimiter)) {
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

/** FRAMEWISE_REDIS_SERVER, else `redis-server` on PATH. */
export function findRedisServer(env: HostEnv): string | undefined {
  return env.FRAMEWISE_REDIS_SERVER ?? which('redis-server', env);
}

/**
 * The directory holding PostgreSQL's `initdb` and `postgres`: FRAMEWISE_PG_BIN, then
 * `pg_config --bindir`, then the newest Debian-style /usr/lib/postgresql/<v>/bin, then PATH.
 */
export function findPostgresBin(env: HostEnv): string | undefined {
  const has = (dir: string) =>
    fs.existsSync(path.join(dir, 'initdb')) && fs.existsSync(path.join(dir, 'postgres'));
  const fromEnv = env.FRAMEWISE_PG_BIN;
  if (fromEnv !== undefined && fromEnv !== '') return has(fromEnv) ? fromEnv : undefined;

  const pgConfig = which('pg_config', env);
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
  const initdb = which('initdb', env);
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
 * PostgreSQL refuses to run as root. As root, it runs as the `postgres` user (the Debian
 * package creates it; FRAMEWISE_PG_USER names another) through setpriv, which execs in place
 * so the pid we hold is the postmaster's own.
 */
export function postgresRunAs(env: HostEnv): RunAs | { readonly error: string } {
  const uid = process.getuid?.() ?? 1000;
  const gid = process.getgid?.() ?? 1000;
  if (uid !== 0) return { uid, gid, prefix: [] };
  const user = env.FRAMEWISE_PG_USER ?? 'postgres';
  const id = spawnSync('id', ['-u', user], { encoding: 'utf8' });
  const gidOut = spawnSync('id', ['-g', user], { encoding: 'utf8' });
  if (id.status !== 0 || gidOut.status !== 0) {
    return {
      error: `running as root, and PostgreSQL refuses to run as root; no user "${user}" exists to run it as. Create one (\`useradd --system postgres\`; the Debian postgresql package does this) or set FRAMEWISE_PG_USER`,
    };
  }
  const setpriv = which('setpriv', env);
  if (!setpriv)
    return {
      error: 'running as root needs `setpriv` (util-linux) to drop to the postgres user',
    };
  const runUid = Number(id.stdout.trim());
  const runGid = Number(gidOut.stdout.trim());
  return {
    uid: runUid,
    gid: runGid,
    prefix: [setpriv, `--reuid=${runUid}`, `--regid=${runGid}`, '--clear-groups', '--'],
  };
}
