// Upgrading from a version that kept API keys in a Redis hash: the real API process copies
// them into Postgres at start, so they keep working; the real keys CLI manages them there.
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort } from '@framewise/testing';
import { startInfra, type Infra } from '../testing/infra.spec-helper';
import { startProcess, type ServiceProcess } from '../testing/processes.spec-helper';
import { apiKeyDigest } from './api-keys';

jest.setTimeout(90_000);

let infra: Infra;
const running: ServiceProcess[] = [];
beforeAll(async () => {
  infra = await startInfra('keys-upgrade');
});
afterAll(async () => {
  for (const p of running) await p.kill();
  await infra.close();
});

function env(): Record<string, string> {
  return {
    DATABASE_URL: infra.databaseUrl,
    REDIS_URL: infra.redisUrl,
    REDIS_KEY_PREFIX: infra.keyPrefix,
    STORAGE_LOCAL_ROOT: infra.storageRoot,
    PATH: process.env.PATH ?? '',
  };
}

/** Runs the keys CLI to its end; returns its exit code and stdout lines. */
async function keys(...args: string[]): Promise<{ code: number | null; lines: string[] }> {
  const cli = startProcess('keys', { ...env(), LOG_LEVEL: 'warn' }, args);
  running.push(cli);
  const code = await cli.exited;
  const lines = cli.output.join('').trim().split('\n').filter(Boolean);
  return { code, lines };
}

async function status(url: string, key: string): Promise<number> {
  try {
    const response = await fetch(url, { headers: { authorization: `Bearer ${key}` } });
    await response.body?.cancel();
    return response.status;
  } catch {
    return 0; // not listening yet
  }
}

it('keeps keys from the old Redis hash working after the upgrade, and the CLI manages them', async () => {
  const oldKey = `fw_${randomUUID()}`;
  const oldRecord = {
    id: randomUUID(),
    name: 'before-upgrade',
    createdAt: '2025-05-05T05:05:05.000Z',
  };
  // exactly what the Redis-backed ApiKeyStore of earlier versions wrote
  await infra.redis.hset(
    `${infra.keyPrefix}apikeys`,
    apiKeyDigest(oldKey),
    JSON.stringify(oldRecord),
  );

  const port = await freePort();
  const api = startProcess('api', { ...env(), PORT: String(port), HOST: '127.0.0.1' });
  running.push(api);
  const url = `http://127.0.0.1:${port}/v1/videos?limit=1`;
  const deadline = Date.now() + 60_000;
  let answer = 0;
  while (answer === 0 && Date.now() < deadline && api.child.exitCode === null) {
    answer = await status(url, oldKey);
    if (answer === 0) await sleep(200);
  }
  expect([answer, api.output.join('')]).toEqual([200, expect.any(String)]);
  expect(await status(url, 'fw_not-a-key')).toBe(401);

  // the copy is in Postgres: the CLI (which reads only Postgres) lists it
  const listed = await keys('list');
  expect(listed.code).toBe(0);
  expect(listed.lines.map((l) => JSON.parse(l) as unknown)).toEqual([oldRecord]);
  // the manual copy finds it already there
  const imported = await keys('import-redis');
  expect(imported.lines).toEqual([JSON.stringify({ found: 1, copied: 0, skipped: 0 })]);

  // a key the CLI creates works at once; revoked, it stops within the API's 10 s cache
  const created = await keys('create', 'after-upgrade');
  expect(created.code).toBe(0);
  const { key, id } = JSON.parse(created.lines.at(-1) ?? '{}') as { key: string; id: string };
  expect(await status(url, key)).toBe(200);
  expect((await keys('revoke', id)).code).toBe(0);
  expect((await keys('revoke', id)).code).toBe(1); // no longer active
  const revokedAt = Date.now();
  let after = 200;
  while (after === 200 && Date.now() - revokedAt < 15_000) {
    await sleep(500);
    after = await status(url, key);
  }
  expect(after).toBe(401);
  expect(Date.now() - revokedAt).toBeLessThan(12_000);
});
