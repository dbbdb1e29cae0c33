import type { Redis } from 'ioredis';
import type { ApiKeyRepository } from '@framewise/db';

/** What {@link copyRedisApiKeys} did. */
export interface RedisKeyCopy {
  /** Entries in the old Redis hash. */
  readonly found: number;
  /** Of those, keys newly stored in Postgres. */
  readonly copied: number;
  /** Entries that were not a record framewise wrote (left alone, not copied). */
  readonly skipped: number;
}

const DIGEST = /^[0-9a-f]{64}$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Copies the API keys of framewise versions that kept them in Redis (the hash
 * `<prefix>apikeys`: sha256(key) → `{ id, name, createdAt }`) into Postgres, so upgrading does
 * not revoke them. The digest is the same in both, so this is idempotent: a key already in
 * Postgres, revoked ones included, is left as it is (a key revoked after the upgrade never
 * comes back). The Redis hash itself is not changed; once every replica runs this version it
 * can be deleted (`DEL <prefix>apikeys`).
 */
export async function copyRedisApiKeys(
  redis: Redis,
  keyPrefix: string,
  repository: ApiKeyRepository,
): Promise<RedisKeyCopy> {
  const entries = Object.entries(await redis.hgetall(`${keyPrefix}apikeys`));
  let copied = 0;
  let skipped = 0;
  for (const [digest, value] of entries) {
    const record = parseRecord(value);
    if (!DIGEST.test(digest) || record === undefined) {
      skipped++;
      continue;
    }
    const stored = await repository.create({ ...record, keySha256: digest });
    if (stored !== undefined) copied++;
  }
  return { found: entries.length, copied, skipped };
}

function parseRecord(value: string): { id: string; name: string; createdAt: Date } | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    return undefined;
  }
  if (typeof parsed !== 'object' || parsed === null) return undefined;
  const { id, name, createdAt } = parsed as Record<string, unknown>;
  if (typeof id !== 'string' || !UUID.test(id) || typeof name !== 'string') return undefined;
  const created = typeof createdAt === 'string' ? new Date(createdAt) : new Date(Number.NaN);
  if (Number.isNaN(created.getTime())) return undefined;
  return { id, name, createdAt: created };
}
