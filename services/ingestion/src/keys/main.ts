// framewise-keys: create, list and revoke API keys.
//   npm run keys -- create <name>   prints the key once; only its hash is stored
//   npm run keys -- list
//   npm run keys -- revoke <id>
import { Redis } from 'ioredis';
import { fragments, loadConfig, text, z } from '@framewise/config';
import { ApiKeyStore } from '../auth/api-keys';

async function main(): Promise<number> {
  const config = loadConfig(
    z.object({ ...fragments.redis, REDIS_KEY_PREFIX: text({ default: 'fw:' }) }),
    process.env,
    { service: 'keys' },
  );
  const [command, argument] = process.argv.slice(2);
  const redis = new Redis(config.REDIS_URL, { maxRetriesPerRequest: 3 });
  try {
    const store = new ApiKeyStore(redis, config.REDIS_KEY_PREFIX);
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
    console.error('usage: framewise-keys create <name> | list | revoke <id>');
    return 2;
  } finally {
    redis.disconnect();
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
