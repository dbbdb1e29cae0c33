// framewise-keys: create, list and revoke API keys (stored in Postgres, hashed).
//   npm run keys -- create <name>   prints the key once; only its hash is stored
//   npm run keys -- list
//   npm run keys -- revoke <id>
//   npm run keys -- import-redis    copies keys of older versions from Redis (the API does this
//                                   by itself at start; idempotent)
import { Redis } from 'ioredis';
import { fragments, loadConfig, text, z } from '@framewise/config';
import { ApiKeyRepository, createDatabase, prepareSchema } from '@framewise/db';
import { ApiKeyStore } from '../auth/api-keys';
import { copyRedisApiKeys } from '../auth/legacy-redis-keys';

async function main(): Promise<number> {
  const config = loadConfig(
    z.object({
      ...fragments.database,
      ...fragments.redis,
      REDIS_KEY_PREFIX: text({ default: 'fw:' }),
    }),
    process.env,
    { service: 'keys' },
  );
  const [command, argument] = process.argv.slice(2);
  const db = createDatabase({
    url: config.DATABASE_URL,
    applicationName: 'framewise-keys',
    maxConnections: 1,
  });
  try {
    // Refuses (with what to run) when the schema is not migrated; never migrates by itself.
    await prepareSchema(db, { migrate: false });
    const repository = new ApiKeyRepository(db);
    const store = new ApiKeyStore(repository, { ttlMs: 0 });
    if (command === 'create' && argument !== undefined) {
      const { key, record } = await store.create(argument);
      console.log(JSON.stringify({ ...record, key }));
      return 0;
    }
    if (command === 'list') {
      for (const record of await store.list()) console.log(JSON.stringify(record));
      return 0;
    }
    if (command === 'revoke' && argument !== undefined) {
      const revoked = await store.revoke(argument);
      console.log(revoked ? 'revoked' : 'no such key');
      return revoked ? 0 : 1;
    }
    if (command === 'import-redis') {
      const redis = new Redis(config.REDIS_URL, { maxRetriesPerRequest: 3 });
      try {
        const copy = await copyRedisApiKeys(redis, config.REDIS_KEY_PREFIX, repository);
        console.log(JSON.stringify(copy));
        return 0;
      } finally {
        redis.disconnect();
      }
    }
    console.error('usage: framewise-keys create <name> | list | revoke <id> | import-redis');
    return 2;
  } finally {
    await db.destroy();
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
