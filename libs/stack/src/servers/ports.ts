import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

/**
 * TCP ports for the servers that `startStack` and the test harness launch. The port is only
 * known free when it is picked; the server binds it a second later. Two things could take it
 * in between, and a pick guards against both:
 * - an outgoing connection (services open many to Redis and Postgres): the port comes from
 *   outside the kernel's ephemeral range, which is where outgoing connections get theirs;
 * - another process picking at the same moment (jest runs specs in parallel workers): each
 *   pick is reserved for a while by a file in a directory all processes on the machine share.
 * Finally the port is bound once, so one that a running server holds is never handed out.
 */

export interface PortPickOptions {
  /** Inclusive range to pick from (default: a range the kernel never gives out on its own). */
  range?: readonly [number, number];
  /** Where reservations live (default: `framewise-ports` in the OS temp directory). */
  reservationDir?: string;
}

/** How long a handed-out port stays reserved: long enough for a slow server to bind it. */
export const PORT_RESERVATION_MS = 120_000;

const LOWEST_PORT = 15_000;
const MIN_RANGE = 2_000;
const ATTEMPTS = 200;
/** The shared directory, found (and made) once per process. */
let defaultReservationDir: string | undefined;

/** A TCP port on 127.0.0.1 that no other process has bound or been handed recently. */
export async function freePort(options: PortPickOptions = {}): Promise<number> {
  const [low, high] = options.range ?? pickRange(ephemeralRange());
  if (!(
    Number.isInteger(low) &&
    Number.isInteger(high) &&
    low >= 1 &&
    low <= high &&
    high <= 65_535
  )) {
    throw new Error(`invalid port range ${low}–${high}`);
  }
  const dir = options.reservationDir ?? (defaultReservationDir ??= reservationDirIn(os.tmpdir()));
  fs.mkdirSync(dir, { recursive: true });
  const size = high - low + 1;
  // Random order without repeats: a small range is searched exhaustively.
  const start = Math.floor(Math.random() * size);
  const step = coprimeStep(size);
  for (let i = 0; i < Math.min(size, ATTEMPTS); i++) {
    const port = low + ((start + i * step) % size);
    if (!reserve(dir, port)) continue;
    if (await canBind(port)) return port;
  }
  throw new Error(
    `no free TCP port in ${low}–${high} after ${Math.min(size, ATTEMPTS)} tries ` +
      `(ports reserved in the last ${PORT_RESERVATION_MS / 1000} s are listed in ${dir})`,
  );
}

/** The kernel's range for ports it picks itself (outgoing connections, listen on port 0). */
export function ephemeralRange(): [number, number] {
  try {
    const [low, high] = fs
      .readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8')
      .trim()
      .split(/\s+/)
      .map(Number);
    if (
      low !== undefined &&
      high !== undefined &&
      Number.isInteger(low) &&
      Number.isInteger(high)
    ) {
      return [low, high];
    }
  } catch {
    // not Linux: the IANA dynamic range, which macOS and Windows use
  }
  return [49_152, 65_535];
}

/** A range of at least MIN_RANGE ports outside the ephemeral one (below it if there is room). */
export function pickRange([ephemeralLow, ephemeralHigh]: readonly [number, number]): [
  number,
  number,
] {
  if (ephemeralLow - LOWEST_PORT >= MIN_RANGE) return [LOWEST_PORT, ephemeralLow - 1];
  if (65_535 - ephemeralHigh >= MIN_RANGE) return [ephemeralHigh + 1, 65_535];
  throw new Error(
    `the kernel's ephemeral port range (${ephemeralLow}–${ephemeralHigh}) leaves no room for ` +
      `local servers: narrow net.ipv4.ip_local_port_range, or pass a range to freePort`,
  );
}

/**
 * `framewise-ports` under `tmp`, made writable by every user with the sticky bit (as /tmp is),
 * so root's tests and a user's stack share it; a per-user directory where an older one is not
 * writable for this user.
 */
export function reservationDirIn(tmp: string): string {
  const shared = path.join(tmp, 'framewise-ports');
  try {
    fs.mkdirSync(shared);
    fs.chmodSync(shared, 0o1777); // mkdir's mode would be cut by the umask
  } catch {
    // there already (or tmp is not writable: the access check below says so)
  }
  try {
    fs.accessSync(shared, fs.constants.W_OK);
    return shared;
  } catch {
    return path.join(tmp, `framewise-ports-${os.userInfo().uid}`);
  }
}

/** Creates the port's reservation file, or takes over one older than the reservation time. */
function reserve(dir: string, port: number): boolean {
  const file = path.join(dir, String(port));
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      fs.closeSync(fs.openSync(file, 'wx'));
      return true;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    try {
      if (Date.now() - fs.statSync(file).mtimeMs < PORT_RESERVATION_MS) return false;
      fs.rmSync(file, { force: true });
    } catch {
      return false;
    }
  }
  return false;
}

function canBind(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.unref();
    server.once('error', () => {
      resolve(false);
    });
    server.listen({ port, host: '127.0.0.1', exclusive: true }, () => {
      server.close(() => {
        resolve(true);
      });
    });
  });
}

/** A step that visits every residue mod n once (gcd(step, n) = 1), near the golden ratio of n. */
function coprimeStep(n: number): number {
  if (n <= 2) return 1;
  let step = Math.max(1, Math.round(n * 0.618));
  while (gcd(step, n) !== 1) step++;
  return step;
}

function gcd(a: number, b: number): number {
  return b === 0 ? a : gcd(b, a % b);
}
