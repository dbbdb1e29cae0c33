// ApiKeyStore against real Postgres: the cache's freshness, revocation across replicas, what a
// Postgres outage does (the database is dropped under the store), and the one-time copy of
// keys from the Redis hash older versions used.
import { randomUUID } from 'node:crypto';
import net from 'node:net';
import express from 'express';
import request from 'supertest';
import { ApiKeyRepository, createDatabase, migratedTemplate } from '@framewise/db';
import { createLogger } from '@framewise/observability';
import { createTestDatabase } from '@framewise/testing';
import { problemHandler } from '../api/http/problem';
import { ServiceUnavailableError } from '../errors';
import { startInfra, type Infra } from '../testing/infra.spec-helper';
import { ApiKeyStore, apiKeyDigest } from './api-keys';
import { apiGuard } from './guard';
import { copyRedisApiKeys } from './legacy-redis-keys';

let infra: Infra;
let repository: ApiKeyRepository;
beforeAll(async () => {
  infra = await startInfra('apikeys');
  repository = new ApiKeyRepository(infra.db);
});
afterAll(async () => {
  await infra.close();
});

/** A clock the test moves. */
function clock(): { now: () => number; advance(ms: number): void } {
  let t = 1_000_000;
  return {
    now: () => t,
    advance: (ms) => {
      t += ms;
    },
  };
}

describe('ApiKeyStore', () => {
  it('creates, verifies, lists and revokes keys', async () => {
    const store = new ApiKeyStore(repository);
    const { key, record } = await store.create('alpha');
    expect(key).toMatch(/^fw_[\w-]{43}$/);
    expect(await store.verify(key)).toEqual(record);
    expect(await store.verify(`${key}x`)).toBeUndefined();
    expect((await store.list()).map((r) => r.id)).toContain(record.id);
    expect(await store.revoke(record.id)).toBe(true);
    expect(await store.revoke(record.id)).toBe(false);
    expect(await store.verify(key)).toBeUndefined();
    expect((await store.list()).map((r) => r.id)).not.toContain(record.id);
    expect(await store.revoke('no-such-id')).toBe(false);
  });

  it('stops accepting a key revoked elsewhere once the cache entry is older than ttlMs', async () => {
    const time = clock();
    const replica = new ApiKeyStore(repository, { ttlMs: 10_000, now: time.now });
    const admin = new ApiKeyStore(repository, { ttlMs: 0 });
    const { key, record } = await admin.create('revoked-elsewhere');
    expect(await replica.verify(key)).toEqual(record);
    expect(await admin.revoke(record.id)).toBe(true);
    time.advance(9_000);
    expect(await replica.verify(key)).toEqual(record); // cached: at most ttlMs stale
    time.advance(1_000);
    expect(await replica.verify(key)).toBeUndefined();
    time.advance(1);
    expect(await replica.verify(key)).toBeUndefined(); // a rejection is not cached as accepted
  });

  it('accepts a key created after an unknown key was presented (no negative caching)', async () => {
    const store = new ApiKeyStore(repository, { ttlMs: 10_000 });
    expect(await store.verify('fw_unknown')).toBeUndefined();
    const { key } = await store.create('late');
    expect(await store.verify(key)).toBeDefined();
  });

  it('rides out a Postgres outage for keys it knows, and answers 503 (never 401) for others', async () => {
    const database = await createTestDatabase({ template: migratedTemplate() });
    const db = createDatabase({ url: database.url, maxConnections: 2 });
    const time = clock();
    try {
      const own = new ApiKeyRepository(db);
      const store = new ApiKeyStore(own, {
        ttlMs: 10_000,
        staleIfErrorMs: 300_000,
        now: time.now,
      });
      const known = await store.create('known');
      const unseen = await store.create('unseen');
      expect(await store.verify(known.key)).toEqual(known.record);

      await database.drop(); // every later query fails: the database is gone
      await expect(own.findActiveByHash(apiKeyDigest(known.key))).rejects.toThrow();

      time.advance(5_000);
      expect(await store.verify(known.key)).toEqual(known.record); // fresh in the cache
      time.advance(60_000);
      expect(await store.verify(known.key)).toEqual(known.record); // stale, Postgres failing
      await expect(store.verify(unseen.key)).rejects.toBeInstanceOf(ServiceUnavailableError);

      const app = express();
      app.use(
        '/v1',
        apiGuard(store, infra.redis, {
          authDisabled: false,
          requestsPerMinute: 0,
          keyPrefix: infra.keyPrefix,
        }),
      );
      app.get('/v1/ping', (_req, res) => {
        res.json({ ok: true });
      });
      app.use(problemHandler(createLogger({ service: 't', level: 'silent' }), 1));
      await request(app).get('/v1/ping').set('Authorization', `Bearer ${known.key}`).expect(200);
      const refused = await request(app)
        .get('/v1/ping')
        .set('Authorization', `Bearer ${unseen.key}`)
        .expect(503);
      expect(refused.headers['content-type']).toMatch(/problem\+json/);
      expect(refused.headers['retry-after']).toBe('5');
      expect((refused.body as { code: string }).code).toBe('auth_unavailable');

      time.advance(300_000); // past staleIfErrorMs: no longer vouched for
      await expect(store.verify(known.key)).rejects.toBeInstanceOf(ServiceUnavailableError);
    } finally {
      await db.destroy();
      await database.drop();
    }
  });

  it('gives up on a database that does not answer after lookupTimeoutMs', async () => {
    // A server that accepts connections and never says a word: a hung or black-holed Postgres.
    const sockets = new Set<net.Socket>();
    const silent = net.createServer((socket) => {
      sockets.add(socket);
    });
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const { port } = silent.address() as net.AddressInfo;
    const db = createDatabase({ url: `postgres://fw:fw@127.0.0.1:${port}/fw`, maxConnections: 1 });
    try {
      const store = new ApiKeyStore(new ApiKeyRepository(db), { lookupTimeoutMs: 300 });
      const started = Date.now();
      await expect(store.verify('fw_any')).rejects.toBeInstanceOf(ServiceUnavailableError);
      expect(Date.now() - started).toBeLessThan(3_000);
    } finally {
      for (const socket of sockets) socket.destroy();
      silent.close();
      await db.destroy();
    }
  });
});

describe('copyRedisApiKeys (keys of versions that kept them in Redis)', () => {
  it('copies old keys once, keeps their ids, never revives a revoked one, skips junk', async () => {
    const hash = `${infra.keyPrefix}apikeys`;
    const oldKey = `fw_${randomUUID()}`;
    const oldRecord = {
      id: randomUUID(),
      name: 'from-redis',
      createdAt: '2025-06-01T10:00:00.000Z',
    };
    const revokedKey = `fw_${randomUUID()}`;
    const revokedRecord = {
      id: randomUUID(),
      name: 'revoked',
      createdAt: '2025-06-02T10:00:00.000Z',
    };
    // exactly what the Redis-backed ApiKeyStore wrote
    await infra.redis.hset(hash, apiKeyDigest(oldKey), JSON.stringify(oldRecord));
    await infra.redis.hset(hash, apiKeyDigest(revokedKey), JSON.stringify(revokedRecord));
    await infra.redis.hset(hash, 'not-a-digest', JSON.stringify(oldRecord));
    await infra.redis.hset(hash, apiKeyDigest('junk'), '{"id":42}');

    expect(await copyRedisApiKeys(infra.redis, infra.keyPrefix, repository)).toEqual({
      found: 4,
      copied: 2,
      skipped: 2,
    });
    const store = new ApiKeyStore(repository, { ttlMs: 0 });
    expect(await store.verify(oldKey)).toEqual(oldRecord);
    expect(await store.revoke(revokedRecord.id)).toBe(true);

    // a second start (or a second replica) copies nothing and revives nothing
    expect(await copyRedisApiKeys(infra.redis, infra.keyPrefix, repository)).toEqual({
      found: 4,
      copied: 0,
      skipped: 2,
    });
    expect(await store.verify(revokedKey)).toBeUndefined();
    expect(await store.verify(oldKey)).toEqual(oldRecord);
  });

  it('finds nothing to do when there is no old hash', async () => {
    expect(await copyRedisApiKeys(infra.redis, `${infra.keyPrefix}none:`, repository)).toEqual({
      found: 0,
      copied: 0,
      skipped: 0,
    });
  });
});
