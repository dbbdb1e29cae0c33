import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { Redis } from 'ioredis';
import pg from 'pg';
import { privateBackend, startPostgres, startRedis } from './backend';
import { LocalRedis } from './local/redis';
import { harnessRoot, isAlive, sweepOrphans } from './local/processes';
import type { PostgresServer, RedisServer } from './servers';

async function query<T extends pg.QueryResultRow>(url: string, sql: string): Promise<T[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<T>(sql)).rows;
  } finally {
    await client.end();
  }
}

describe('private servers', () => {
  it('starts a private Redis and a private Postgres, and reports how long that took', async () => {
    const started = performance.now();
    const [redisResult, postgresResult] = await Promise.all([
      (async () => {
        const t = performance.now();
        return { server: await startRedis(), ms: performance.now() - t };
      })(),
      (async () => {
        const t = performance.now();
        return { server: await startPostgres(), ms: performance.now() - t };
      })(),
    ]);
    const totalMs = Math.round(performance.now() - started);
    const redis = redisResult.server;
    const postgres = postgresResult.server;
    try {
      console.log(
        `[harness] private Redis + Postgres (${await privateBackend()}) ready in ${totalMs} ms ` +
          `(redis ${Math.round(redisResult.ms)} ms, postgres ${Math.round(postgresResult.ms)} ms; goal < 3000 ms)`,
      );
      const client = new Redis(redis.url);
      expect(await client.ping()).toBe('PONG');
      // The harness's Redis must be durable the way production's is.
      expect(await client.config('GET', 'appendonly')).toEqual(['appendonly', 'yes']);
      expect(await client.config('GET', 'maxmemory-policy')).toEqual([
        'maxmemory-policy',
        'noeviction',
      ]);
      client.disconnect();
      const [row] = await query<{ v: string }>(postgres.url, 'SHOW server_version');
      expect(row?.v ?? (row as unknown as { server_version: string }).server_version).toBeTruthy();
    } finally {
      await Promise.all([redis.stop(), postgres.stop()]);
    }
  });
});

describe('crashing Redis', () => {
  let redis: RedisServer;
  beforeAll(async () => {
    redis = await startRedis({ appendfsync: 'always' });
  });
  afterAll(() => redis.stop());

  it('keeps every acknowledged write across SIGKILL and restart (AOF, appendfsync always)', async () => {
    const client = new Redis(redis.url, { maxRetriesPerRequest: 0, retryStrategy: () => null });
    client.on('error', () => undefined);
    const n = 2000;
    const pipeline = client.pipeline();
    for (let i = 0; i < n; i += 1) pipeline.rpush('jobs', `job-${i}`);
    const replies = await pipeline.exec();
    expect(replies?.every(([error]) => error === null)).toBe(true);
    await client.set('last', 'written-just-before-the-crash');

    await redis.kill();
    await expect(client.ping()).rejects.toThrow();
    client.disconnect();
    await redis.start();

    const after = new Redis(redis.url);
    try {
      expect(await after.llen('jobs')).toBe(n);
      expect(await after.lindex('jobs', n - 1)).toBe(`job-${n - 1}`);
      expect(await after.get('last')).toBe('written-just-before-the-crash');
    } finally {
      after.disconnect();
    }
  });
});

describe('crashing Postgres', () => {
  let postgres: PostgresServer;
  beforeAll(async () => {
    postgres = await startPostgres();
  });
  afterAll(() => postgres.stop());

  it('keeps committed rows across SIGKILL of the whole cluster and restart', async () => {
    await query(postgres.url, 'CREATE TABLE t (id int PRIMARY KEY, v text)');
    await query(postgres.url, "INSERT INTO t SELECT g, 'row ' || g FROM generate_series(1, 500) g");
    const open = new pg.Client({ connectionString: postgres.url });
    open.on('error', () => undefined);
    await open.connect();

    await postgres.kill();
    await expect(open.query('SELECT 1')).rejects.toThrow();
    await open.end().catch(() => undefined);
    await postgres.restart();

    const [row] = await query<{ n: string }>(postgres.url, 'SELECT count(*) AS n FROM t');
    expect(Number(row?.n)).toBe(500);
  });
});

const localOnly = LocalRedis.available() ? describe : describe.skip;

localOnly('leftovers', () => {
  it('sweeps servers whose owner process died, and their files', async () => {
    const redis = await LocalRedis.create();
    const pid = redis.pid;
    expect(pid).toBeDefined();
    expect(redis.dir.startsWith(harnessRoot())).toBe(true);
    // Make its owner a process that has exited, as when a jest worker is SIGKILLed.
    const deadOwner = spawnSync(process.execPath, ['-e', '0']).pid;
    const ownerFile = path.join(redis.dir, 'owner.json');
    const owner = JSON.parse(fs.readFileSync(ownerFile, 'utf8')) as { ownerPid: number };
    fs.writeFileSync(ownerFile, JSON.stringify({ ...owner, ownerPid: deadOwner }));

    expect(sweepOrphans()).toBeGreaterThanOrEqual(1);
    await waitFor(() => !isAlive(pid!));
    expect(fs.existsSync(redis.dir)).toBe(false);
    await redis.stop(); // harmless after a sweep
  });

  it('leaves servers of live owners alone', async () => {
    const redis = await LocalRedis.create();
    try {
      sweepOrphans();
      expect(isAlive(redis.pid!)).toBe(true);
      expect(fs.existsSync(redis.dir)).toBe(true);
    } finally {
      await redis.stop();
    }
    expect(fs.existsSync(redis.dir)).toBe(false);
  });
});

async function waitFor(predicate: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('Postgres settings', () => {
  it('starts a private Postgres with extra settings on top of the test defaults', async () => {
    const postgres = await startPostgres({ settings: { shared_buffers: '64MB', work_mem: '8MB' } });
    try {
      const rows = await query<{ name: string; setting: string; unit: string | null }>(
        postgres.url,
        "SELECT name, setting, unit FROM pg_settings WHERE name IN ('shared_buffers', 'work_mem', 'fsync', 'synchronous_commit') ORDER BY name",
      );
      expect(rows).toEqual([
        { name: 'fsync', setting: 'off', unit: null },
        { name: 'shared_buffers', setting: '8192', unit: '8kB' },
        { name: 'synchronous_commit', setting: 'on', unit: null },
        { name: 'work_mem', setting: '8192', unit: 'kB' },
      ]);
    } finally {
      await postgres.stop();
    }
  });

  it('rejects a malformed setting name before starting anything', async () => {
    await expect(startPostgres({ settings: { 'x; rm -rf /': '1' } })).rejects.toThrow(
      'not a Postgres setting name',
    );
  });
});
