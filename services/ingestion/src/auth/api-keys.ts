import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { ApiKey, ApiKeyRepository } from '@framewise/db';
import { ServiceUnavailableError } from '../errors';

/** An API key as the API and the keys CLI show it: never the key itself. */
export interface ApiKeyRecord {
  readonly id: string;
  readonly name: string;
  readonly createdAt: string;
}

/** Options of {@link ApiKeyStore}'s in-process cache of verified keys. */
export interface ApiKeyCacheOptions {
  /**
   * How long a verified key is answered from memory without asking Postgres (default 10 s;
   * 0 turns the cache off). This bounds how long a revoked key keeps working on a replica
   * that verified it just before.
   */
  readonly ttlMs?: number;
  /**
   * How long after its last successful check a key is still accepted while Postgres cannot be
   * reached (default 5 minutes), so a short database outage does not reject known keys.
   */
  readonly staleIfErrorMs?: number;
  /**
   * How long a lookup may take before it counts as failed (default 2 s), so a database that
   * does not answer (rather than refusing connections) does not hold requests.
   */
  readonly lookupTimeoutMs?: number;
  /** Most keys kept (default 10,000); the least recently verified go first. */
  readonly maxEntries?: number;
  /** The clock, in ms (tests). */
  readonly now?: () => number;
}

interface CacheEntry {
  readonly record: ApiKeyRecord;
  readonly checkedAt: number;
}

/**
 * API keys, stored in Postgres (`api_keys`) as their SHA-256 only. Keys are 32 random bytes, so
 * a fast unsalted hash is enough: there is nothing to brute-force.
 *
 * `verify` runs on every API request, so keys that verified are kept in memory for
 * `ttlMs` (10 s by default): Postgres sees at most one lookup per key per replica per 10 s,
 * and a revoked key stops working on every replica within that time. Unknown keys are not
 * cached (a key created a moment ago works at once). When Postgres fails, a key verified
 * within `staleIfErrorMs` is still accepted; any other key gets a
 * {@link ServiceUnavailableError} (503, retryable), never "unauthorized".
 */
export class ApiKeyStore {
  private readonly cache = new Map<string, CacheEntry>();
  private readonly inFlight = new Map<string, Promise<ApiKeyRecord | undefined>>();
  private readonly ttlMs: number;
  private readonly staleIfErrorMs: number;
  private readonly maxEntries: number;
  private readonly lookupTimeoutMs: number;
  private readonly now: () => number;

  constructor(
    private readonly repository: ApiKeyRepository,
    cache: ApiKeyCacheOptions = {},
  ) {
    this.ttlMs = cache.ttlMs ?? 10_000;
    this.staleIfErrorMs = Math.max(this.ttlMs, cache.staleIfErrorMs ?? 300_000);
    this.maxEntries = cache.maxEntries ?? 10_000;
    this.lookupTimeoutMs = cache.lookupTimeoutMs ?? 2_000;
    this.now = cache.now ?? Date.now;
  }

  /** Creates a key; returns the secret (shown once) and its record. */
  async create(name: string): Promise<{ key: string; record: ApiKeyRecord }> {
    const key = `fw_${randomBytes(32).toString('base64url')}`;
    const stored = await this.repository.create({
      id: randomUUID(),
      name,
      keySha256: apiKeyDigest(key),
    });
    // 32 random bytes and a random uuid: a collision is not a thing that happens.
    if (stored === undefined) throw new Error('a new API key collided with a stored one');
    return { key, record: toRecord(stored) };
  }

  /**
   * The record of a presented key, or undefined when no active key has its digest. Throws
   * {@link ServiceUnavailableError} when Postgres cannot answer and the key is not known here.
   */
  async verify(key: string): Promise<ApiKeyRecord | undefined> {
    const digest = apiKeyDigest(key);
    const cached = this.cache.get(digest);
    if (cached !== undefined && this.now() - cached.checkedAt < this.ttlMs) return cached.record;
    const pending = this.inFlight.get(digest);
    if (pending !== undefined) return pending;
    const lookup = this.lookUp(digest, cached).finally(() => {
      this.inFlight.delete(digest);
    });
    this.inFlight.set(digest, lookup);
    return lookup;
  }

  /** The active keys, oldest first. */
  async list(): Promise<ApiKeyRecord[]> {
    return (await this.repository.list()).map(toRecord);
  }

  /**
   * Revokes a key by its id; returns whether an active key had that id. Replicas that verified
   * the key in the last `ttlMs` accept it until their cache entry expires.
   */
  async revoke(id: string): Promise<boolean> {
    const revoked = await this.repository.revoke(id);
    for (const [digest, entry] of this.cache) {
      if (entry.record.id === id) this.cache.delete(digest);
    }
    return revoked;
  }

  private async lookUp(
    digest: string,
    cached: CacheEntry | undefined,
  ): Promise<ApiKeyRecord | undefined> {
    let found: ApiKey | undefined;
    try {
      found = await withTimeout(this.repository.findActiveByHash(digest), this.lookupTimeoutMs);
    } catch (error) {
      if (cached !== undefined && this.now() - cached.checkedAt < this.staleIfErrorMs) {
        return cached.record;
      }
      throw new ServiceUnavailableError(
        'auth_unavailable',
        'API keys cannot be checked right now (the database is unreachable); retry shortly',
        5,
        error,
      );
    }
    this.cache.delete(digest);
    if (found === undefined) return undefined;
    const record = toRecord(found);
    if (this.ttlMs > 0) {
      this.cache.set(digest, { record, checkedAt: this.now() });
      if (this.cache.size > this.maxEntries) {
        const oldest = this.cache.keys().next();
        if (oldest.done !== true) this.cache.delete(oldest.value);
      }
    }
    return record;
  }
}

function withTimeout<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => {
      reject(new Error(`no answer from the database within ${ms} ms`));
    }, ms);
  });
  return Promise.race([work, timeout]).finally(() => {
    clearTimeout(timer);
  });
}

/** The digest stored for a key: lowercase hex SHA-256 of its text. */
export function apiKeyDigest(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

function toRecord(key: ApiKey): ApiKeyRecord {
  return { id: key.id, name: key.name, createdAt: key.createdAt.toISOString() };
}
