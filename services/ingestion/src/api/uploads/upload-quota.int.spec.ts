// Per-API-key upload quota and Idempotency-Key scoping, through HTTP with real API keys,
// Redis, Postgres, local storage and ffprobe.
import { mkdir, readdir, stat, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import type { Express } from 'express';
import request from 'supertest';
import { videoQueue } from '@framewise/contracts';
import { ApiKeyRepository } from '@framewise/db';
import { QueueAdmin } from '@framewise/queue';
import { LocalVolumeStorage } from '@framewise/storage';
import { ApiKeyStore } from '../../auth/api-keys';
import { apiGuard } from '../../auth/guard';
import { NO_QUOTA, testApp, type TestApp } from '../../testing/app.spec-helper';
import { makeVideo, startInfra, type Infra } from '../../testing/infra.spec-helper';
import { UploadQuota, type UploadQuotaLimits } from './upload-quota';

interface Body {
  id: string;
  code: string;
  detail: string;
  status: number;
}
const bodyOf = (res: request.Response): Body => res.body as Body;

let infra: Infra;
let tmpDir: string;
let videoFile: string;
let videoBytes: number;
let keys: ApiKeyStore;
const apps: TestApp[] = [];

beforeAll(async () => {
  infra = await startInfra('quota');
  tmpDir = join(infra.workDir, 'tmp');
  await mkdir(tmpDir);
  videoFile = await makeVideo(join(infra.workDir, 'clip.mp4'), { seconds: 1, fps: 10 });
  videoBytes = (await stat(videoFile)).size;
  keys = new ApiKeyStore(new ApiKeyRepository(infra.db));
});
afterAll(async () => {
  for (const app of apps) await app.close();
  await infra.close();
});

/** The API behind real API keys, with `quota`. */
function appWith(quota: UploadQuotaLimits, storage?: LocalVolumeStorage): TestApp {
  const built = testApp(infra, {
    tmpDir,
    quota,
    ...(storage === undefined ? {} : { storage }),
    guard: apiGuard(keys, infra.redis, {
      authDisabled: false,
      requestsPerMinute: 0,
      keyPrefix: infra.keyPrefix,
    }),
  });
  apps.push(built);
  return built;
}

async function newKey(name: string): Promise<{ key: string; id: string }> {
  const { key, record } = await keys.create(name);
  return { key, id: record.id };
}

/** An upload through the app's long-lived server (see TestApp.server: refusals come early). */
function upload(app: TestApp, key: string, idempotencyKey?: string): request.Test {
  const req = request(app.server).post('/v1/videos').set('Authorization', `Bearer ${key}`);
  if (idempotencyKey !== undefined) req.set('Idempotency-Key', idempotencyKey);
  return req.attach('file', videoFile, 'clip.mp4');
}

/** What an upload may create: rows, stored objects, video jobs, staged files. */
async function snapshot() {
  const row = await infra.db
    .selectFrom('videos')
    .select((eb) => eb.fn.countAll<string>().as('n'))
    .executeTakeFirstOrThrow();
  let objects = 0;
  for await (const object of infra.storage.listAll('videos/')) if (object.key !== '') objects++;
  const jobs = await new QueueAdmin(
    videoQueue({ keyPrefix: infra.keyPrefix }),
    infra.redis,
  ).depths();
  return { videos: Number(row.n), objects, jobs: jobs.pending };
}

function expectProblem(res: request.Response, status: number, code: string): void {
  expect(res.status).toBe(status);
  expect(res.headers['content-type']).toMatch(/application\/problem\+json/);
  expect(bodyOf(res)).toMatchObject({ status, code });
}

/**
 * Sends a multipart upload whose file part streams `total` bytes (chunked, no Content-Length)
 * until the server answers; resolves with the status and how many bytes were produced.
 */
function streamUpload(
  app: Express,
  key: string,
  total: number,
  options: { stallAfter?: number } = {},
): { status: Promise<number>; produced: () => number; abort: () => void } {
  const server = app.listen(0);
  const port = (server.address() as AddressInfo).port;
  let produced = 0;
  const boundary = 'fwquota';
  let abort = (): void => undefined;
  const stalled = new Promise<void>((resolve) => {
    abort = resolve;
  });
  const body = Readable.from(
    (async function* () {
      yield Buffer.from(
        `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.mp4"\r\nContent-Type: video/mp4\r\n\r\n`,
      );
      const chunk = Buffer.alloc(64 * 1024, 7);
      while (produced < total) {
        if (options.stallAfter !== undefined && produced >= options.stallAfter) await stalled;
        produced += chunk.length;
        yield chunk;
      }
      yield Buffer.from(`\r\n--${boundary}--\r\n`);
    })(),
  );
  const req = http.request({
    port,
    method: 'POST',
    path: '/v1/videos',
    headers: {
      'content-type': `multipart/form-data; boundary=${boundary}`,
      authorization: `Bearer ${key}`,
    },
  });
  const status = new Promise<number>((resolve, reject) => {
    req.on('response', (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
  }).finally(() => {
    body.destroy();
    server.close();
    server.closeAllConnections();
  });
  body.pipe(req);
  return {
    status,
    produced: () => produced,
    abort: () => {
      abort();
      req.destroy();
    },
  };
}

/**
 * An upload with `Expect: 100-continue`, as curl sends large files: the body goes out only
 * once the server says "100 Continue". Resolves with the status and whether it said so.
 */
async function uploadExpectingContinue(
  app: TestApp,
  key: string,
): Promise<{ status: number; continued: boolean; body: string }> {
  const { readFile } = await import('node:fs/promises');
  const boundary = 'fwcontinue';
  const body = Buffer.concat([
    Buffer.from(
      `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="clip.mp4"\r\nContent-Type: video/mp4\r\n\r\n`,
    ),
    await readFile(videoFile),
    Buffer.from(`\r\n--${boundary}--\r\n`),
  ]);
  const { port } = app.server.address() as AddressInfo;
  return new Promise((resolve, reject) => {
    let continued = false;
    const req = http.request({
      port,
      host: '127.0.0.1',
      method: 'POST',
      path: '/v1/videos',
      headers: {
        'content-type': `multipart/form-data; boundary=${boundary}`,
        'content-length': body.length,
        authorization: `Bearer ${key}`,
        expect: '100-continue',
      },
    });
    req.on('continue', () => {
      continued = true;
      req.end(body);
    });
    req.on('response', (res) => {
      let text = '';
      res.on('data', (chunk: Buffer) => (text += chunk.toString()));
      res.on('end', () => {
        resolve({ status: res.statusCode ?? 0, continued, body: text });
        req.destroy();
      });
    });
    req.on('error', reject);
    req.flushHeaders();
  });
}

describe('Idempotency-Key is scoped per API key', () => {
  it('two keys sending the same Idempotency-Key get two videos; each retry gets its own', async () => {
    const app = appWith(NO_QUOTA);
    const [a, b] = await Promise.all([newKey('a'), newKey('b')]);
    const first = await upload(app, a.key, 'same-key').expect(202);
    const other = await upload(app, b.key, 'same-key').expect(202);
    expect(bodyOf(other).id).not.toBe(bodyOf(first).id);
    expect(other.headers['idempotent-replayed']).toBeUndefined();

    const retryA = await upload(app, a.key, 'same-key').expect(202);
    const retryB = await upload(app, b.key, 'same-key').expect(202);
    expect(bodyOf(retryA).id).toBe(bodyOf(first).id);
    expect(bodyOf(retryB).id).toBe(bodyOf(other).id);
    expect(retryA.headers['idempotent-replayed']).toBe('true');
    expect(retryB.headers['idempotent-replayed']).toBe('true');
  });
});

describe('upload quota per API key', () => {
  it('counts videos per period; over it: 429 with Retry-After, nothing created, nothing accepted lost', async () => {
    const built = appWith({ ...NO_QUOTA, videosPerPeriod: 2, periodMs: 3_600_000 });
    const [a, b] = await Promise.all([newKey('videos-a'), newKey('videos-b')]);
    const accepted = [
      await upload(built, a.key, 'v-1').expect(202),
      await upload(built, a.key).expect(202),
    ].map((r) => bodyOf(r).id);
    expect(await built.quota.usage(a.id)).toMatchObject({ videos: 2, bytes: 2 * videoBytes });

    const before = await snapshot();
    const refused = await upload(built, a.key);
    expectProblem(refused, 429, 'upload_quota_exceeded');
    expect(bodyOf(refused).detail).toMatch(/quota of 2 videos .*retry after then/);
    const retryAfter = Number(refused.headers['retry-after']);
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(3600);
    expect(await snapshot()).toEqual(before);
    expect(await readdir(tmpDir)).toEqual([]);

    // what was accepted is untouched, and a retry of it still answers with its video
    for (const id of accepted) {
      await request(built.app)
        .get(`/v1/videos/${id}`)
        .set('Authorization', `Bearer ${a.key}`)
        .expect(200);
      expect(await infra.storage.exists(`videos/${id}/original.mp4`)).toBe(true);
    }
    const replay = await upload(built, a.key, 'v-1').expect(202);
    expect(bodyOf(replay).id).toBe(accepted[0]);
    expect(await built.quota.usage(a.id)).toMatchObject({ videos: 2 });

    // another key has its own quota
    await upload(built, b.key).expect(202);
  });

  it('a refused upload always gets its answer, never a connection reset, however fast it is refused', async () => {
    // Refused before a byte of the body is read, while the client is still sending it: the
    // server reads and discards the rest (up to LINGER_BYTES) instead of resetting the
    // connection, which would make the client fail with EPIPE/ECONNRESET instead of a 429.
    const built = appWith({ ...NO_QUOTA, videosPerPeriod: 1 });
    const a = await newKey('refusals');
    await upload(built, a.key).expect(202);
    const large = join(infra.workDir, 'large.mp4');
    await writeFile(large, Buffer.alloc(512 * 1024, 3));
    for (let i = 0; i < 30; i++) {
      const file = i % 2 === 0 ? videoFile : large;
      const refused = await request(built.server)
        .post('/v1/videos')
        .set('Authorization', `Bearer ${a.key}`)
        .attach('file', file, 'clip.mp4');
      expectProblem(refused, 429, 'upload_quota_exceeded');
    }
  });

  it('Expect: 100-continue: the body is asked for only once the upload is admitted', async () => {
    const built = appWith({ ...NO_QUOTA, videosPerPeriod: 1 });
    const a = await newKey('continue');
    const admitted = await uploadExpectingContinue(built, a.key);
    expect(admitted).toMatchObject({ status: 202, continued: true });
    // Over quota, or not authenticated: the answer comes before the client sends its body.
    const before = await snapshot();
    const refused = await uploadExpectingContinue(built, a.key);
    expect(refused).toMatchObject({ status: 429, continued: false });
    expect(JSON.parse(refused.body)).toMatchObject({ code: 'upload_quota_exceeded' });
    expect(await uploadExpectingContinue(built, 'fw_not-a-key')).toMatchObject({
      status: 401,
      continued: false,
    });
    expect(await snapshot()).toEqual(before);
    expect(await readdir(tmpDir)).toEqual([]);
  });

  it('concurrent uploads cannot overshoot the quota: exactly the quota is accepted', async () => {
    const built = appWith({ ...NO_QUOTA, videosPerPeriod: 3 });
    const a = await newKey('race');
    const before = await snapshot();
    const responses = await Promise.all(Array.from({ length: 10 }, () => upload(built, a.key)));
    const statuses = responses.map((r) => r.status).sort();
    expect(statuses).toEqual([202, 202, 202, 429, 429, 429, 429, 429, 429, 429]);
    for (const r of responses.filter((x) => x.status === 429)) {
      expect(bodyOf(r).code).toBe('upload_quota_exceeded');
    }
    const after = await snapshot();
    expect(after.videos - before.videos).toBe(3);
    expect(after.objects - before.objects).toBe(3);
    expect(after.jobs - before.jobs).toBe(3);
    expect(await built.quota.usage(a.id)).toMatchObject({ videos: 3, bytes: 3 * videoBytes });
  });

  it('counts bytes per period: an upload that does not fit in what is left is refused, nothing stored', async () => {
    const built = appWith({ ...NO_QUOTA, bytesPerPeriod: Math.floor(videoBytes * 1.5) });
    const a = await newKey('bytes-a');
    await upload(built, a.key).expect(202);
    const before = await snapshot();
    const refused = await upload(built, a.key);
    expectProblem(refused, 429, 'upload_quota_exceeded');
    expect(bodyOf(refused)).toMatchObject({ quota: 'bytes', used: videoBytes });
    expect(await snapshot()).toEqual(before);
    expect(await built.quota.usage(a.id)).toMatchObject({ videos: 1, bytes: videoBytes });
  });

  it('cuts off a chunked body the moment it crosses the byte quota (403: larger than the whole quota)', async () => {
    const quotaBytes = 1024 * 1024;
    const built = appWith({ ...NO_QUOTA, bytesPerPeriod: quotaBytes });
    const a = await newKey('bytes-stream');
    const before = await snapshot();
    // Far more than the quota; the server must answer long before reading it all.
    const sent = streamUpload(built.app, a.key, 1024 ** 3);
    expect(await sent.status).toBe(403);
    expect(sent.produced()).toBeLessThan(128 * 1024 ** 2);
    expect(await snapshot()).toEqual(before);
    expect(await built.quota.usage(a.id)).toMatchObject({ videos: 0, bytes: 0 });
    await new Promise((r) => setTimeout(r, 50));
    expect(await readdir(tmpDir)).toEqual([]);
  });

  it('limits uploads in flight per key across replicas; a finished upload frees its slot', async () => {
    const limits = { ...NO_QUOTA, maxConcurrent: 1 };
    // two API replicas sharing Redis
    const [one, two] = [appWith(limits), appWith(limits)];
    const [a, b] = await Promise.all([newKey('conc-a'), newKey('conc-b')]);
    const slow = streamUpload(one.app, a.key, 8 * 1024 ** 2, { stallAfter: 256 * 1024 });
    // wait until the first upload holds its slot
    for (let i = 0; i < 100 && (await one.quota.usage(a.id)).inflight === 0; i++) {
      await new Promise((r) => setTimeout(r, 20));
    }
    expect((await one.quota.usage(a.id)).inflight).toBe(1);

    const refused = await upload(two, a.key);
    expectProblem(refused, 429, 'too_many_concurrent_uploads');
    expect(refused.headers['retry-after']).toBe('5');
    expect(bodyOf(refused).detail).toMatch(/wait for one to finish/);
    await upload(two, b.key).expect(202); // other keys are not held up

    slow.abort();
    await slow.status.catch(() => 0);
    for (let i = 0; i < 100 && (await one.quota.usage(a.id)).inflight > 0; i++) {
      await new Promise((r) => setTimeout(r, 20));
    }
    await upload(two, a.key).expect(202);
    expect((await one.quota.usage(a.id)).inflight).toBe(0);
  });

  it('keeps the slot of an upload that runs far longer than the lease', async () => {
    const leaseMs = 300;
    const quota = new UploadQuota(
      infra.redis,
      infra.keyPrefix,
      { ...NO_QUOTA, maxConcurrent: 1 },
      leaseMs,
    );
    const ticket = await quota.admit('long-upload', undefined);
    await new Promise((r) => setTimeout(r, leaseMs * 4));
    expect((await quota.usage('long-upload')).inflight).toBe(1);
    await expect(quota.admit('long-upload', undefined)).rejects.toMatchObject({
      code: 'too_many_concurrent_uploads',
    });
    await ticket.release();
    await (await quota.admit('long-upload', undefined)).release();
  });

  it('ignores the slots of a crashed replica once their lease has expired', async () => {
    const built = appWith({ ...NO_QUOTA, maxConcurrent: 1 });
    const a = await newKey('conc-crash');
    // What a replica killed mid-upload leaves behind: a slot whose lease nobody renews.
    await infra.redis.zadd(
      `${infra.keyPrefix}{quota:${a.id}}:inflight`,
      Date.now() + 400,
      'dead-replica-request',
    );
    expectProblem(await upload(built, a.key), 429, 'too_many_concurrent_uploads');
    await new Promise((r) => setTimeout(r, 500));
    await upload(built, a.key).expect(202);
  });

  it('gives the reservation back when the upload fails after it', async () => {
    // Storage whose root is a file: every write fails after validation and the reservation.
    const notADir = join(infra.workDir, 'not-a-dir');
    await writeFile(notADir, '');
    const built = appWith(
      { ...NO_QUOTA, videosPerPeriod: 5, bytesPerPeriod: 100 * videoBytes },
      new LocalVolumeStorage({ root: notADir }),
    );
    const a = await newKey('refund');
    const before = await snapshot();
    await upload(built, a.key).expect(500);
    expect(await built.quota.usage(a.id)).toMatchObject({ videos: 0, bytes: 0, inflight: 0 });
    expect(await snapshot()).toEqual(before);
  });
});
