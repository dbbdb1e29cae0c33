import fs from 'node:fs';
import path from 'node:path';
import {
  INSTALL_HINTS,
  findPostgresBin as findPostgresBinIn,
  findRedisServer as findRedisServerIn,
  postgresRunAs as postgresRunAsIn,
  which as whichIn,
} from '@framewise/stack';
import type { RunAs } from '@framewise/stack';

// Binary lookup lives in @framewise/stack (npm start uses it too); the harness looks up in
// its own environment.
export { INSTALL_HINTS };
export type { RunAs };

/** Finds an executable on PATH. */
export function which(name: string): string | undefined {
  return whichIn(name, process.env);
}

/** FRAMEWISE_REDIS_SERVER, else redis-server on PATH. */
export function findRedisServer(): string | undefined {
  return findRedisServerIn(process.env);
}

/** FRAMEWISE_PG_BIN, pg_config, /usr/lib/postgresql/<v>/bin, then PATH. */
export function findPostgresBin(): string | undefined {
  return findPostgresBinIn(process.env);
}

/** Who runs Postgres: this user, or as root the postgres user (FRAMEWISE_PG_USER) via setpriv. */
export function postgresRunAs(): RunAs | { readonly error: string } {
  return postgresRunAsIn(process.env);
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
