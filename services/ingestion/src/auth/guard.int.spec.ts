import express from 'express';
import request from 'supertest';
import { Redis } from 'ioredis';
import { createLogger } from '@framewise/observability';
import { deleteKeysWithPrefix, sharedInfra, uniqueKeyPrefix } from '@framewise/testing';
import { problemHandler } from '../api/http/problem';
import { ApiKeyStore } from './api-keys';
import { apiGuard } from './guard';

let redis: Redis;
const keyPrefix = uniqueKeyPrefix('guard');
beforeAll(() => {
  redis = new Redis(sharedInfra().redisUrl);
});
afterAll(async () => {
  await deleteKeysWithPrefix(redis, keyPrefix);
  redis.disconnect();
});

function appWith(
  store: ApiKeyStore,
  options: { authDisabled: boolean; requestsPerMinute: number },
) {
  const app = express();
  app.use('/v1', apiGuard(store, redis, { ...options, keyPrefix }));
  app.get('/v1/ping', (_req, res) => {
    res.json({ ok: true });
  });
  app.use(problemHandler(createLogger({ service: 't', level: 'silent' }), 1));
  return app;
}

describe('API keys and rate limiting', () => {
  it('requires a valid key, stores only its hash, and revokes it', async () => {
    const store = new ApiKeyStore(redis, keyPrefix);
    const { key, record } = await store.create('ci');
    const stored = await redis.hgetall(`${keyPrefix}apikeys`);
    expect(JSON.stringify(stored)).not.toContain(key);
    const app = appWith(store, { authDisabled: false, requestsPerMinute: 0 });
    const denied = await request(app).get('/v1/ping').expect(401);
    expect(denied.headers['content-type']).toMatch(/problem\+json/);
    await request(app).get('/v1/ping').set('Authorization', 'Bearer nope').expect(401);
    await request(app).get('/v1/ping').set('Authorization', `Bearer ${key}`).expect(200);
    expect(await store.revoke(record.id)).toBe(true);
    await request(app).get('/v1/ping').set('Authorization', `Bearer ${key}`).expect(401);
  });

  it('limits requests per key per minute, shared through Redis', async () => {
    const store = new ApiKeyStore(redis, keyPrefix);
    const { key } = await store.create('limited');
    // two "replicas" sharing one Redis
    const apps = [1, 2].map(() => appWith(store, { authDisabled: false, requestsPerMinute: 3 }));
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
    const app = appWith(new ApiKeyStore(redis, keyPrefix), {
      authDisabled: true,
      requestsPerMinute: 0,
    });
    await request(app).get('/v1/ping').expect(200);
  });
});
