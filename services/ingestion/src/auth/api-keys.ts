import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';

/** An API key as stored: never the key itself, only its SHA-256. */
export interface ApiKeyRecord {
  readonly id: string;
  readonly name: string;
  readonly createdAt: string;
}

/**
 * API keys, hashed at rest in one Redis hash (`<prefix>apikeys`: sha256(key) → record). Keys
 * are 32 random bytes, so a fast unsalted hash is enough: there is nothing to brute-force.
 * Redis (with AOF, which framewise requires for its queues) rather than Postgres, so checking
 * a key costs the API one HGET on the connection it already has.
 */
export class ApiKeyStore {
  constructor(
    private readonly redis: Redis,
    private readonly keyPrefix: string,
  ) {}

  private get hashKey(): string {
    return `${this.keyPrefix}apikeys`;
  }

  /** Creates a key; returns the secret (shown once) and its record. */
  async create(name: string): Promise<{ key: string; record: ApiKeyRecord }> {
    const record: ApiKeyRecord = { id: randomUUID(), name, createdAt: new Date().toISOString() };
    const key = `fw_${randomBytes(32).toString('base64url')}`;
    await this.redis.hset(this.hashKey, digest(key), JSON.stringify(record));
    return { key, record };
  }

  /** The record of a presented key, or undefined. */
  async verify(key: string): Promise<ApiKeyRecord | undefined> {
    const stored = await this.redis.hget(this.hashKey, digest(key));
    return stored === null ? undefined : (JSON.parse(stored) as ApiKeyRecord);
  }

  async list(): Promise<ApiKeyRecord[]> {
    const all = await this.redis.hvals(this.hashKey);
    return all.map((v) => JSON.parse(v) as ApiKeyRecord);
  }

  /** Revokes a key by its id; returns whether it existed. */
  async revoke(id: string): Promise<boolean> {
    const all = await this.redis.hgetall(this.hashKey);
    for (const [hash, value] of Object.entries(all)) {
      if ((JSON.parse(value) as ApiKeyRecord).id === id) {
        return (await this.redis.hdel(this.hashKey, hash)) === 1;
      }
    }
    return false;
  }
}

function digest(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}
