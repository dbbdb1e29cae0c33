import { Redis } from 'ioredis';
import pg from 'pg';
import { createTestDatabase, deleteKeysWithPrefix, sharedInfra, uniqueKeyPrefix } from './shared';

async function rows<T>(url: string, sql: string): Promise<T[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(sql)).rows as T[];
  } finally {
    await client.end();
  }
}

describe('createTestDatabase', () => {
  it('clones a template that is prepared once, however many tests ask at the same time', async () => {
    let prepared = 0;
    const template = {
      name: `schema_${Date.now()}`,
      prepare: async (url: string) => {
        prepared += 1;
        await rows(url, 'CREATE TABLE videos (id int PRIMARY KEY, name text)');
        await rows(url, "INSERT INTO videos VALUES (1, 'seed')");
      },
    };
    const dbs = await Promise.all(
      Array.from({ length: 5 }, () => createTestDatabase({ template })),
    );
    try {
      expect(prepared).toBe(1);
      expect(new Set(dbs.map((d) => d.name)).size).toBe(5);
      // Each clone has the schema and seed, and changes to one do not reach another.
      await rows(dbs[0]!.url, "INSERT INTO videos VALUES (2, 'only in the first')");
      expect(await rows(dbs[0]!.url, 'SELECT id FROM videos ORDER BY id')).toEqual([
        { id: 1 },
        { id: 2 },
      ]);
      expect(await rows(dbs[1]!.url, 'SELECT id FROM videos ORDER BY id')).toEqual([{ id: 1 }]);
    } finally {
      await Promise.all(dbs.map((d) => d.drop()));
    }
    const names = await rows<{ datname: string }>(
      sharedInfra().databaseUrl,
      `SELECT datname FROM pg_database WHERE datname IN (${dbs.map((d) => `'${d.name}'`).join(',')})`,
    );
    expect(names).toEqual([]);
  });

  it('drops a template whose preparation failed, so the next test retries it', async () => {
    const name = `broken_${Date.now()}`;
    await expect(
      createTestDatabase({
        template: { name, prepare: () => Promise.reject(new Error('migration 3 failed')) },
      }),
    ).rejects.toThrow('migration 3 failed');
    const db = await createTestDatabase({ template: { name, prepare: () => Promise.resolve() } });
    await db.drop();
  });
});

describe('uniqueKeyPrefix / deleteKeysWithPrefix', () => {
  it('gives distinct prefixes and deletes only keys under one', async () => {
    const redis = new Redis(sharedInfra().redisUrl);
    try {
      const a = uniqueKeyPrefix('queue');
      const b = uniqueKeyPrefix('queue');
      expect(a).not.toBe(b);
      expect(a).toMatch(/^t:queue:[0-9a-f]{8}:$/);
      for (let i = 0; i < 1200; i += 1) await redis.set(`${a}k${i}`, '1');
      await redis.set(`${b}k`, '1');
      expect(await deleteKeysWithPrefix(redis, a)).toBe(1200);
      expect(await redis.exists(`${b}k`)).toBe(1);
      await deleteKeysWithPrefix(redis, b);
    } finally {
      redis.disconnect();
    }
  });
});
