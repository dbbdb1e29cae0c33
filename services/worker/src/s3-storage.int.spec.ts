/**
 * @framewise-needs s3
 */
// The worker and the reaper as real processes reading frames from S3 (the harness's local
// Ceph RGW), reached through a TCP proxy this test can cut: a storage outage mid-run must be
// waited out (frames retried, none failed, none lost), and the video must finish with every
// frame detected exactly once.
import net from 'node:net';
import { Redis } from 'ioredis';
import { VideoRepository } from '@framewise/db';
import { S3Storage } from '@framewise/storage';
import type { TestBucket } from '@framewise/testing';
import { createTestBucket, freePort, sharedInfra, uniqueKeyPrefix } from '@framewise/testing';
import type { ServiceProcess } from './testing/processes.spec-helper';
import { startService } from './testing/processes.spec-helper';
import {
  exactlyOnce,
  expectedBox,
  frameOutcomes,
  migratedDatabase,
  seedVideo,
  testQueue,
  waitFor,
  workspace,
} from './testing/pipeline.spec-helper';

jest.setTimeout(150_000);

/**
 * A TCP proxy in front of the S3 server. `cut()` closes every connection and stops
 * listening (clients get ECONNREFUSED); `restore()` listens on the same port again. The
 * proxy passes bytes through unchanged, so SigV4 signatures (over the proxy's Host) verify.
 */
class OutageProxy {
  private server: net.Server | undefined;
  private readonly sockets = new Set<net.Socket>();

  constructor(
    readonly port: number,
    private readonly target: URL,
  ) {}

  get endpoint(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async restore(): Promise<void> {
    const server = net.createServer((client) => {
      const upstream = net.connect(Number(this.target.port), this.target.hostname);
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on('close', () => this.sockets.delete(s));
        s.on('error', () => {
          client.destroy();
          upstream.destroy();
        });
      }
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', resolve);
    });
    this.server = server;
  }

  async cut(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
    if (server !== undefined)
      await new Promise<void>((resolve) => {
        server.close(() => {
          resolve();
        });
      });
  }
}

let space: Awaited<ReturnType<typeof workspace>>;
let bucket: TestBucket;
let storage: S3Storage;
let proxy: OutageProxy;
const running: ServiceProcess[] = [];

beforeAll(async () => {
  space = await workspace();
  bucket = await createTestBucket('worker');
  storage = new S3Storage({ bucket: bucket.bucket, clientConfig: bucket.clientConfig });
  const endpoint = bucket.clientConfig.endpoint;
  if (typeof endpoint !== 'string') throw new Error('the test S3 has no endpoint URL');
  proxy = new OutageProxy(await freePort(), new URL(endpoint));
  await proxy.restore();
});

afterEach(async () => {
  await Promise.all(running.splice(0).map((p) => p.kill()));
  await proxy.restore().catch(() => undefined); // listening again if a test cut it
});

afterAll(async () => {
  await proxy.cut();
  storage.close();
  await bucket.destroy();
  await space.remove();
});

function start(service: 'worker' | 'reaper', vars: Record<string, string>): ServiceProcess {
  const p = startService(service, vars);
  running.push(p);
  return p;
}

async function run(
  body: (s: {
    db: Awaited<ReturnType<typeof migratedDatabase>>['db'];
    vars: Record<string, string>;
    videoId: string;
  }) => Promise<void>,
): Promise<void> {
  const { db, url, close } = await migratedDatabase();
  const redis = new Redis(sharedInfra().redisUrl);
  const prefix = uniqueKeyPrefix();
  try {
    const video = await seedVideo({ db, storage, queue: testQueue(prefix), redis, frames: 60 });
    const s3 = bucket.clientConfig.credentials as { accessKeyId: string; secretAccessKey: string };
    const vars = {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '',
      REDIS_URL: sharedInfra().redisUrl,
      DATABASE_URL: url,
      REDIS_KEY_PREFIX: prefix,
      STORAGE_BACKEND: 's3',
      S3_ENDPOINT: proxy.endpoint,
      S3_REGION: String(bucket.clientConfig.region ?? 'us-east-1'),
      S3_BUCKET: bucket.bucket,
      S3_FORCE_PATH_STYLE: 'true',
      S3_ACCESS_KEY_ID: s3.accessKeyId,
      S3_SECRET_ACCESS_KEY: s3.secretAccessKey,
      WORKER_MODEL_PATH: space.modelPath,
      WORKER_BATCH_MAX: '4',
      WORKER_THREADS: '1',
      WORKER_HEARTBEAT_TTL: '2s',
      REAPER_RECLAIM_INTERVAL: '200ms',
      REAPER_FINALIZE_INTERVAL: '200ms',
      REAPER_RECONCILE_INTERVAL: '500ms',
      REAPER_RECONCILE_GRACE: '30s',
      LOG_LEVEL: 'warn',
    };
    await body({ db, vars, videoId: video.videoId });
  } finally {
    redis.disconnect();
    await close();
  }
}

async function finished(db: Awaited<ReturnType<typeof migratedDatabase>>['db'], id: string) {
  await waitFor(
    'the video to be finalized',
    async () => (await new VideoRepository(db).get(id)).status.startsWith('completed'),
    100_000,
  );
}

it('detects every frame read from S3, with the right boxes', async () => {
  await run(async ({ db, vars, videoId }) => {
    start('reaper', vars);
    const worker = start('worker', vars);
    try {
      await finished(db, videoId);
    } catch (error) {
      throw new Error(`${(error as Error).message}\n${worker.output.join('')}`);
    }
    expect((await new VideoRepository(db).get(videoId)).status).toBe('completed');
    const rows = await db
      .selectFrom('frame_results')
      .where('video_id', '=', videoId)
      .select(['frame_index', 'detections'])
      .orderBy('frame_index')
      .execute();
    expect(rows).toHaveLength(60);
    for (const row of rows) {
      expect(row.detections).toHaveLength(1);
      const box = row.detections[0]?.box ?? [];
      // JPEG edges blur by a pixel or two; the square is 40 px.
      expectedBox(row.frame_index).forEach((v, i) => {
        expect(Math.abs((box[i] ?? -100) - v)).toBeLessThanOrEqual(3);
      });
    }
  });
});

it('waits out a storage outage mid-run: nothing failed, nothing lost, the worker keeps running', async () => {
  await run(async ({ db, vars, videoId }) => {
    start('reaper', vars);
    const worker = start('worker', { ...vars, LOG_LEVEL: 'warn' });
    await waitFor(
      'some results',
      async () => (await frameOutcomes(db, videoId)).some((o) => o.results > 0),
      60_000,
    );
    await proxy.cut();
    const detectedAtCut = (await frameOutcomes(db, videoId)).filter((o) => o.results > 0).length;
    // Long enough for the worker to hit the outage and back off several times (and longer
    // than the heartbeat TTL: the heartbeat goes to Redis, which is up, so no reclaim).
    await new Promise((r) => setTimeout(r, 5000));
    const during = await frameOutcomes(db, videoId);
    expect(during.every((o) => o.failures === 0)).toBe(true);
    expect(during.filter((o) => o.results > 0).length).toBeLessThan(60);
    await proxy.restore();
    await finished(db, videoId);
    const outcomes = await frameOutcomes(db, videoId);
    expect(exactlyOnce(outcomes)).toBe(true);
    expect(outcomes.every((o) => o.results === 1)).toBe(true);
    expect((await new VideoRepository(db).get(videoId)).status).toBe('completed');
    expect(worker.child.exitCode).toBeNull();
    // It saw the outage (and said so) rather than finishing before the cut.
    expect(detectedAtCut).toBeLessThan(60);
    expect(worker.output.join('')).toContain('storage unavailable; retrying');
  });
});
