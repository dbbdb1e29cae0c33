import express from 'express';
import request from 'supertest';
import { ApiKeyRepository } from '@framewise/db';
import { createLogger } from '@framewise/observability';
import { problemHandler } from '../api/http/problem';
import { startInfra, type Infra } from '../testing/infra.spec-helper';
import { ApiKeyStore, apiKeyDigest } from './api-keys';
import { apiGuard } from './guard';

let infra: Infra;
let repository: ApiKeyRepository;
beforeAll(async () => {
  infra = await startInfra('guard');
  repository = new ApiKeyRepository(infra.db);
});
afterAll(async () => {
  await infra.close();
});

function appWith(
  store: ApiKeyStore,
  options: { authDisabled: boolean; requestsPerMinute: number },
) {
  const app = express();
  app.use('/v1', apiGuard(store, infra.redis, { ...options, keyPrefix: infra.keyPrefix }));
  app.get('/v1/ping', (_req, res) => {
    res.json({ ok: true });
  });
  app.use(problemHandler(createLogger({ service: 't', level: 'silent' }), 1));
  return app;
}

describe('API keys and rate limiting', () => {
  it('requires a valid key, stores only its hash (in Postgres, not Redis), and revokes it', async () => {
    const store = new ApiKeyStore(repository);
    const { key, record } = await store.create('ci');
    const rows = await infra.db.selectFrom('api_keys').selectAll().execute();
    expect(JSON.stringify(rows)).not.toContain(key);
    expect(rows.find((r) => r.id === record.id)?.key_sha256).toBe(apiKeyDigest(key));
    expect(await infra.redis.keys(`${infra.keyPrefix}*`)).toEqual([]);

    const app = appWith(store, { authDisabled: false, requestsPerMinute: 0 });
    const denied = await request(app).get('/v1/ping').expect(401);
    expect(denied.headers['content-type']).toMatch(/problem\+json/);
    await request(app).get('/v1/ping').set('Authorization', 'Bearer nope').expect(401);
    await request(app).get('/v1/ping').set('Authorization', `Bearer ${key}`).expect(200);
    expect(await store.revoke(record.id)).toBe(true);
    // the replica that revoked it forgets it at once
    await request(app).get('/v1/ping').set('Authorization', `Bearer ${key}`).expect(401);
  });

  it('keeps accepting keys after Redis loses everything (FLUSHALL of their old home)', async () => {
    const store = new ApiKeyStore(repository, { ttlMs: 0 });
    const { key } = await store.create('survivor');
    const app = appWith(store, { authDisabled: false, requestsPerMinute: 100 });
    await request(app).get('/v1/ping').set('Authorization', `Bearer ${key}`).expect(200);
    // What a FLUSHALL does to this test's data, without wiping other tests' keys.
    const keys = await infra.redis.keys(`${infra.keyPrefix}*`);
    expect(keys.length).toBeGreaterThan(0); // the rate-limit counter
    await infra.redis.del(...keys);
    await request(app).get('/v1/ping').set('Authorization', `Bearer ${key}`).expect(200);
  });

  it('limits requests per key per minute, shared through Redis', async () => {
    const { key } = await new ApiKeyStore(repository).create('limited');
    // two "replicas" sharing one Redis and one Postgres
    const apps = [1, 2].map(() =>
      appWith(new ApiKeyStore(repository), { authDisabled: false, requestsPerMinute: 3 }),
    );
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) {
      const app = apps[i % 2];
      if (!app) throw new Error('no app');
      statuses.push(
        (await request(app).get('/v1/ping').set('Authorization', `Bearer ${key}`)).status,
      );
    }
    // a window boundary may fall inside the loop; at least the 4th or 5th must be limited
    expect(statuses.filter((s) => s === 429).length).toBeGreaterThanOrEqual(1);
    expect(statuses.slice(0, 3)).toEqual([200, 200, 200]);
  });

  it('lets everything through when auth is disabled', async () => {
    const app = appWith(new ApiKeyStore(repository), {
      authDisabled: true,
      requestsPerMinute: 0,
    });
    await request(app).get('/v1/ping').expect(200);
  });
});
