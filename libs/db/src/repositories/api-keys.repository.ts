import type { Kysely, Selectable } from 'kysely';
import type { ApiKeysTable, Database } from '../schema';

/** An API key as stored: never the key itself, only its SHA-256. */
export interface ApiKey {
  readonly id: string;
  readonly name: string;
  /** Lowercase hex SHA-256 of the key. */
  readonly keySha256: string;
  readonly createdAt: Date;
  /** When it was revoked; null while it is active. */
  readonly revokedAt: Date | null;
}

/** A key to store. `id` and `createdAt` are given when copying a key that already exists. */
export interface NewApiKey {
  readonly id: string;
  readonly name: string;
  readonly keySha256: string;
  readonly createdAt?: Date;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * The `api_keys` table. Hashing, key generation and caching are the caller's; this only
 * stores and finds digests. Revoked keys stay as rows (with `revoked_at`), so their digest can
 * never be stored again.
 */
export class ApiKeyRepository {
  constructor(private readonly db: Kysely<Database>) {}

  /**
   * Stores a key. Returns it, or undefined when a key with the same id or digest is already
   * stored (active or revoked) and nothing was written: copying keys again is a no-op.
   */
  async create(key: NewApiKey): Promise<ApiKey | undefined> {
    const row = await this.db
      .insertInto('api_keys')
      .values({
        id: key.id,
        name: key.name,
        key_sha256: key.keySha256,
        ...(key.createdAt === undefined ? {} : { created_at: key.createdAt }),
      })
      .onConflict((oc) => oc.doNothing())
      .returningAll()
      .executeTakeFirst();
    return row === undefined ? undefined : toApiKey(row);
  }

  /** The active (not revoked) key with this digest, or undefined. */
  async findActiveByHash(keySha256: string): Promise<ApiKey | undefined> {
    const row = await this.db
      .selectFrom('api_keys')
      .selectAll()
      .where('key_sha256', '=', keySha256)
      .where('revoked_at', 'is', null)
      .executeTakeFirst();
    return row === undefined ? undefined : toApiKey(row);
  }

  /** Every key, oldest first; revoked ones only when asked. */
  async list(options: { readonly includeRevoked?: boolean } = {}): Promise<ApiKey[]> {
    let query = this.db.selectFrom('api_keys').selectAll().orderBy('created_at').orderBy('id');
    if (options.includeRevoked !== true) query = query.where('revoked_at', 'is', null);
    return (await query.execute()).map(toApiKey);
  }

  /**
   * Revokes a key by its id. Returns whether an active key was revoked (false for an unknown
   * id, a key revoked before, or a string that is not a uuid).
   */
  async revoke(id: string): Promise<boolean> {
    if (!UUID.test(id)) return false;
    const result = await this.db
      .updateTable('api_keys')
      .set({ revoked_at: new Date() })
      .where('id', '=', id)
      .where('revoked_at', 'is', null)
      .executeTakeFirst();
    return result.numUpdatedRows === 1n;
  }
}

function toApiKey(row: Selectable<ApiKeysTable>): ApiKey {
  return {
    id: row.id,
    name: row.name,
    keySha256: row.key_sha256,
    createdAt: row.created_at,
    revokedAt: row.revoked_at,
  };
}
