import type { Kysely } from 'kysely';
import { sql } from 'kysely';

// API keys, moved out of Redis (issues #7 and #10). Redis holds queues, which the reaper can
// rebuild from Postgres after a FLUSHALL or a lost AOF; keys cannot be rebuilt, so keeping
// them only in Redis meant that a Redis wipe revoked every key. Postgres is the source of truth.
//
// Only the SHA-256 of a key is stored (lowercase hex, the same digest the Redis hash used as
// its field, so the one-time copy of old keys is a plain insert). Revoking sets `revoked_at`
// rather than deleting the row: the digest stays reserved, so copying the old Redis hash again
// can never bring a revoked key back.

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE TABLE api_keys (
      id uuid PRIMARY KEY,
      name text NOT NULL,
      key_sha256 text NOT NULL CONSTRAINT api_keys_key_sha256_key UNIQUE
        CHECK (key_sha256 ~ '^[0-9a-f]{64}$'),
      created_at timestamptz NOT NULL DEFAULT now(),
      revoked_at timestamptz
    )
  `.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP TABLE IF EXISTS api_keys`.execute(db);
}
