// Which failures are outages (wait and retry: the work is still good) and which are facts
// about the job (record them). Getting this wrong either way is costly: treating a bad frame
// as an outage stalls a worker on it; treating an outage as a bad frame fails good frames.
import {
  InvalidStorageKeyError,
  StorageError,
  StorageInvalidRangeError,
  StorageNotFoundError,
} from '@framewise/storage';

const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
]);

/** pg's connection-level messages, which carry no SQLSTATE. */
const PG_CONNECTION_MESSAGES = [
  'Connection terminated',
  'timeout exceeded when trying to connect',
  'Client has encountered a connection error',
  'Client was closed and is not queryable',
  'Cannot use a pool after calling end',
];

function codeOf(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null || !('code' in error)) return undefined;
  const code = error.code;
  return typeof code === 'string' ? code : undefined;
}

/**
 * Whether a database error means "Postgres is unreachable or restarting" (retry later, the
 * batch is still good) rather than "this statement is wrong" (fail the jobs).
 * SQLSTATE classes: 08 connection exception, 57P0x shutdown / cannot connect now, 53
 * insufficient resources, 40001 / 40P01 serialization failure / deadlock.
 */
export function isTransientDatabaseError(error: unknown): boolean {
  const code = codeOf(error);
  if (code !== undefined) {
    if (NETWORK_CODES.has(code)) return true;
    if (code.startsWith('08') || code.startsWith('57P0') || code.startsWith('53')) return true;
    if (code === '40001' || code === '40P01') return true;
  }
  const message = error instanceof Error ? error.message : String(error);
  return PG_CONNECTION_MESSAGES.some((m) => message.includes(m));
}

/**
 * Whether a storage error is an outage (network, permissions being fixed, a bucket not yet
 * mounted) rather than a fact about the key. A missing object is a fact: the caller decides
 * (a canceled video, or a permanent failure).
 */
export function isTransientStorageError(error: unknown): boolean {
  if (
    error instanceof StorageNotFoundError ||
    error instanceof InvalidStorageKeyError ||
    error instanceof StorageInvalidRangeError
  ) {
    return false;
  }
  if (error instanceof StorageError) return true;
  const code = codeOf(error);
  return code !== undefined && NETWORK_CODES.has(code);
}

/** Capped exponential backoff with equal jitter: `attempt` 1 waits about `baseMs`. */
export function backoffMs(
  attempt: number,
  policy: { readonly baseMs: number; readonly maxMs: number },
  random: () => number = Math.random,
): number {
  const ceiling = Math.min(policy.maxMs, policy.baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}
