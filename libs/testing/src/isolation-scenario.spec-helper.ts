import { Redis } from 'ioredis';
import pg from 'pg';
import { createTestDatabase, sharedInfra, uniqueKeyPrefix } from './shared';

/**
 * What two test files running side by side do to show they cannot see each other's data.
 * Each gets its own database and key prefix, writes a marker, registers at a run-scoped
 * rendezvous, waits (bounded) for its peer, then checks it sees only its own data while the
 * peer's data exists where the peer put it.
 */
export async function isolationScenario(
  self: string,
  peer: string,
): Promise<{ overlapped: boolean }> {
  const infra = sharedInfra();
  const db = await createTestDatabase();
  const prefix = uniqueKeyPrefix(`isolation-${self}`);
  const redis = new Redis(infra.redisUrl);
  const rendezvous = `fw-harness:{rendezvous}:${infra.runId}`;
  try {
    await exec(db.url, `CREATE TABLE marker (owner text); INSERT INTO marker VALUES ('${self}')`);
    await redis.set(`${prefix}marker`, self);
    await redis.hset(rendezvous, self, JSON.stringify({ db: db.url, prefix, running: true }));
    await redis.expire(rendezvous, 600);

    const peerInfo = await waitForPeer(redis, rendezvous, peer, 15_000);
    const overlapped = peerInfo?.running === true;

    // Only our own data is visible through our database and our prefix.
    expect(await rows(db.url, 'SELECT owner FROM marker')).toEqual([{ owner: self }]);
    expect(await keysUnder(redis, prefix)).toEqual([`${prefix}marker`]);

    if (peerInfo) {
      expect(peerInfo.db).not.toBe(db.url);
      expect(peerInfo.prefix).not.toBe(prefix);
      // The peer's data is real and where the peer put it, just not in our namespace.
      expect(await rows(peerInfo.db, 'SELECT owner FROM marker')).toEqual([{ owner: peer }]);
      expect(await redis.get(`${peerInfo.prefix}marker`)).toBe(peer);
      expect((await keysUnder(redis, prefix)).some((k) => k.startsWith(peerInfo.prefix))).toBe(
        false,
      );
    }
    console.log(
      `[isolation ${self}] peer ${peer}: ${peerInfo ? (overlapped ? 'ran at the same time' : 'ran before') : 'not seen (ran after)'}`,
    );
    return { overlapped };
  } finally {
    await redis.hset(rendezvous, self, JSON.stringify({ db: db.url, prefix, running: false }));
    redis.disconnect();
  }
}

interface PeerInfo {
  readonly db: string;
  readonly prefix: string;
  readonly running: boolean;
}

async function waitForPeer(
  redis: Redis,
  key: string,
  peer: string,
  timeoutMs: number,
): Promise<PeerInfo | undefined> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const raw = await redis.hget(key, peer);
    if (raw !== null) return JSON.parse(raw) as PeerInfo;
    await new Promise((r) => setTimeout(r, 50));
  }
  return undefined;
}

async function keysUnder(redis: Redis, prefix: string): Promise<string[]> {
  const keys = await redis.keys(`${prefix}*`);
  return keys.sort();
}

async function exec(url: string, sql: string): Promise<void> {
  await rows(url, sql);
}

async function rows(url: string, sql: string): Promise<pg.QueryResultRow[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    // A multi-statement query answers with one result per statement.
    const result: pg.QueryResult | pg.QueryResult[] = await client.query(sql);
    return Array.isArray(result) ? [] : (result.rows as pg.QueryResultRow[]);
  } finally {
    await client.end();
  }
}
