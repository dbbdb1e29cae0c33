import { createHash, randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import { sql } from 'kysely';
import type { Database } from '../schema';
import { migratedDatabase } from '../testing.spec-helper';
import { ApiKeyRepository } from './api-keys.repository';

let db: Kysely<Database>;
let close: () => Promise<void>;
let keys: ApiKeyRepository;

beforeAll(async () => {
  ({ db, close } = await migratedDatabase());
  keys = new ApiKeyRepository(db);
});

afterAll(async () => {
  await close();
});

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

describe('ApiKeyRepository', () => {
  it('stores a digest, finds it while active, and stops finding it once revoked', async () => {
    const id = randomUUID();
    const created = await keys.create({ id, name: 'ci', keySha256: sha256('secret-1') });
    expect(created).toMatchObject({ id, name: 'ci', keySha256: sha256('secret-1') });
    expect(created?.revokedAt).toBeNull();
    expect(created?.createdAt).toBeInstanceOf(Date);

    expect(await keys.findActiveByHash(sha256('secret-1'))).toEqual(created);
    expect(await keys.findActiveByHash(sha256('other'))).toBeUndefined();

    expect(await keys.revoke(id)).toBe(true);
    expect(await keys.revoke(id)).toBe(false); // already revoked
    expect(await keys.findActiveByHash(sha256('secret-1'))).toBeUndefined();
  });

  it('never stores a digest twice, so a revoked key cannot be copied back', async () => {
    const id = randomUUID();
    const digest = sha256('secret-2');
    const createdAt = new Date('2025-01-02T03:04:05.678Z');
    const first = await keys.create({ id, name: 'old', keySha256: digest, createdAt });
    expect(first?.createdAt).toEqual(createdAt);
    // the same key copied again (same id and digest), and another id with the same digest
    expect(await keys.create({ id, name: 'old', keySha256: digest, createdAt })).toBeUndefined();
    expect(await keys.create({ id: randomUUID(), name: 'dup', keySha256: digest })).toBeUndefined();
    expect(await keys.revoke(id)).toBe(true);
    expect(await keys.create({ id, name: 'old', keySha256: digest, createdAt })).toBeUndefined();
    expect(await keys.findActiveByHash(digest)).toBeUndefined();
    const rows = await sql<{ n: string }>`
      SELECT count(*) AS n FROM api_keys WHERE key_sha256 = ${digest}`.execute(db);
    expect(rows.rows[0]?.n).toBe('1');
  });

  it('lists active keys oldest first, and revoked ones only when asked', async () => {
    await sql`TRUNCATE api_keys`.execute(db);
    const a = randomUUID();
    const b = randomUUID();
    await keys.create({
      id: b,
      name: 'b',
      keySha256: sha256('b'),
      createdAt: new Date('2025-02-01T00:00:00Z'),
    });
    await keys.create({
      id: a,
      name: 'a',
      keySha256: sha256('a'),
      createdAt: new Date('2025-01-01T00:00:00Z'),
    });
    expect((await keys.list()).map((k) => k.name)).toEqual(['a', 'b']);
    await keys.revoke(a);
    expect((await keys.list()).map((k) => k.name)).toEqual(['b']);
    const all = await keys.list({ includeRevoked: true });
    expect(all.map((k) => [k.name, k.revokedAt === null])).toEqual([
      ['a', false],
      ['b', true],
    ]);
  });

  it('answers false, not an error, when revoking an id that is unknown or not a uuid', async () => {
    expect(await keys.revoke(randomUUID())).toBe(false);
    expect(await keys.revoke('not-a-uuid')).toBe(false);
  });

  it('refuses a digest that is not lowercase hex SHA-256 (the key itself, by mistake)', async () => {
    await expect(
      keys.create({ id: randomUUID(), name: 'raw', keySha256: 'fw_plaintext-key' }),
    ).rejects.toThrow(/check constraint/);
  });
});
