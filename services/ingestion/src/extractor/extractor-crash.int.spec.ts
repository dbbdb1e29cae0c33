// The extractor as a real process, SIGKILLed mid-extraction of a real video; a second one
// (another consumer id, as a replacement pod would have) must finish the video with every
// frame in the manifest exactly once and every frame job published. The reaper service runs
// beside them, as in production: it returns the dead extractor's video job to the queue, and its
// reconciler re-enqueues the jobs of frames whose manifest row landed just before the kill but
// whose publish did not.
import { mkdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import request from 'supertest';
import { frameJobId, frameKey, frameQueue, videoQueue } from '@framewise/contracts';
import { testApp } from '../testing/app.spec-helper';
import { makeVideo, startInfra, type Infra } from '../testing/infra.spec-helper';
import { startProcess, type ServiceProcess } from '../testing/processes.spec-helper';

// Generous: on a loaded two-core machine ffmpeg, tsx start-up and the reclaim all take long.
jest.setTimeout(360_000);

let infra: Infra;
const processes: ServiceProcess[] = [];

beforeAll(async () => {
  infra = await startInfra('extractor-crash');
});
afterAll(async () => {
  for (const p of processes) await p.kill();
  await infra.close();
});

async function until<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  timeoutMs: number,
  intervalMs = 50,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) {
      const logs = processes.map((p) => p.output.join('')).join('\n---\n');
      throw new Error(`timed out waiting for ${what}\n${logs.slice(-4000)}`);
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

async function manifestCount(videoId: string): Promise<number> {
  const row = await infra.db
    .selectFrom('frames')
    .where('video_id', '=', videoId)
    .select((eb) => eb.fn.countAll<string>().as('n'))
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

async function videoRow(videoId: string) {
  return infra.db
    .selectFrom('videos')
    .where('id', '=', videoId)
    .select(['status', 'expected_frames', 'extracted_frames'])
    .executeTakeFirstOrThrow();
}

/** Frame indices of `videoId`'s jobs waiting in the frame queue (no worker runs here). */
async function pendingFrameJobs(videoId: string): Promise<number[]> {
  const frames = frameQueue({ keyPrefix: infra.keyPrefix });
  const payloads = await infra.redis.lrange(frames.keys.pending, 0, -1);
  const indices: number[] = [];
  for (const payload of payloads) {
    const decoded = frames.decode(payload);
    if (!decoded.ok) throw new Error(decoded.error);
    if (decoded.job.data.videoId !== videoId) continue;
    expect(decoded.job.id).toBe(frameJobId(decoded.job.data));
    indices.push(decoded.job.data.frameIndex);
  }
  return indices.sort((a, b) => a - b);
}

function extractor(consumerId: string): ServiceProcess {
  const p = startProcess('extractor', {
    PATH: process.env.PATH ?? '',
    DATABASE_URL: infra.databaseUrl,
    REDIS_URL: infra.redisUrl,
    REDIS_KEY_PREFIX: infra.keyPrefix,
    STORAGE_BACKEND: 'local',
    STORAGE_LOCAL_ROOT: infra.storageRoot,
    INGESTION_TMP_DIR: infra.workDir,
    EXTRACT_BATCH_SIZE: '8',
    EXTRACT_JPEG_QUALITY: '2',
    EXTRACTOR_CONSUMER_ID: consumerId,
    EXTRACTOR_HEARTBEAT_TTL: '1500ms',
    LOG_LEVEL: 'info',
  });
  processes.push(p);
  return p;
}

it('a SIGKILLed extractor’s video is finished by a new one: every frame once, every job published', async () => {
  // A real upload through the API: original stored, row created, video job enqueued.
  const tmpDir = join(infra.workDir, 'tmp');
  await mkdir(tmpDir);
  const file = await makeVideo(join(infra.workDir, 'long.mp4'), {
    seconds: 20,
    fps: 25,
    size: '1280x720',
  });
  const api = testApp(infra, { tmpDir, maxUploadBytes: (await stat(file)).size + 1024 });
  const uploaded = await request(api.app)
    .post('/v1/videos')
    .field('sampling', 'all')
    .attach('file', file, 'long.mp4')
    .expect(202);
  await api.close();
  const videoId = (uploaded.body as { id: string }).id;
  const expected = 20 * 25;

  const first = extractor('crash-a');
  const atKill = await until(
    'the first extractor to be mid-extraction',
    async () => {
      const n = await manifestCount(videoId);
      return n >= 24 ? n : undefined;
    },
    120_000,
    20,
  );
  await first.kill();
  const afterKill = await manifestCount(videoId);
  // Mid-extraction for real: the kill left most of the video to do.
  expect(atKill).toBeLessThan(expected - 100);
  expect(afterKill).toBeLessThan(expected);
  expect(await videoRow(videoId)).toMatchObject({ status: 'extracting' });
  // The video job is stranded in the dead extractor's processing list.
  const videos = videoQueue({ keyPrefix: infra.keyPrefix });
  expect(await infra.redis.llen(videos.keys.processing('crash-a'))).toBe(1);

  const reaper = startProcess('reaper', {
    DATABASE_URL: infra.databaseUrl,
    REDIS_URL: infra.redisUrl,
    REDIS_KEY_PREFIX: infra.keyPrefix,
    REAPER_RECLAIM_INTERVAL: '200ms',
    REAPER_FINALIZE_INTERVAL: '1s',
    REAPER_RECONCILE_INTERVAL: '500ms',
    // Long enough that a row of the running extractor is never taken for one whose publish was lost.
    REAPER_RECONCILE_GRACE: '10s',
  });
  processes.push(reaper);
  const second = extractor('crash-b');

  const done = await until(
    'the second extractor to finish the video',
    async () => {
      const row = await videoRow(videoId);
      return row.status === 'extracting' ? undefined : row;
    },
    180_000,
    100,
  );
  expect(done).toMatchObject({
    status: 'detecting',
    expected_frames: expected,
    extracted_frames: expected,
  });
  // It resumed after the manifest's prefix rather than starting over.
  expect(second.output.join('')).toMatch(/resuming: frames already in the manifest are skipped/);

  // Postgres: every frame of the video exactly once, indices 0…n-1.
  const rows = await infra.db
    .selectFrom('frames')
    .where('video_id', '=', videoId)
    .select(['frame_index'])
    .orderBy('frame_index')
    .execute();
  expect(rows.map((r) => r.frame_index)).toEqual(Array.from({ length: expected }, (_, i) => i));
  // Storage: each frame's JPEG is there.
  for (const index of [0, afterKill - 1, afterKill, expected - 1]) {
    expect(await infra.storage.exists(frameKey(videoId, index))).toBe(true);
  }

  // Redis: every manifest frame's job published, none twice (the reconciler fills in a batch
  // whose rows landed just before the kill but whose publish did not).
  const jobs = await until(
    'a frame job for every manifest frame',
    async () => {
      const indices = await pendingFrameJobs(videoId);
      return new Set(indices).size === expected ? indices : undefined;
    },
    60_000,
    200,
  );
  expect(jobs).toEqual(Array.from({ length: expected }, (_, i) => i));
  // The video job is acked: nowhere in the video queue any more.
  expect(await infra.redis.llen(videos.keys.pending)).toBe(0);
  expect(await infra.redis.llen(videos.keys.processing('crash-a'))).toBe(0);
  expect(await infra.redis.llen(videos.keys.processing('crash-b'))).toBe(0);

  expect(await second.terminate()).toBe(0);
  expect(await reaper.terminate()).toBe(0);
});
