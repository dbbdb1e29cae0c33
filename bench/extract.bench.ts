// `npm run bench:extract` (run it as `flock /tmp/framewise-bench.lock npm run bench:extract`).
// Extraction of a 1080p video at full frame rate and at 5 fps through framewise's extractor
// (storage writes, manifest rows and queue publishes included) against bare
// `ffmpeg -i … -vf <the extractor's filter graph> <its JPEG encoder> out%06d.jpg` to local disk
// (frames at most 640 px, q 1, as the extractor stores them), alternating, in the same run; then a
// 1 GB upload through the API, reporting peak RSS.
// The video is /work/shared/fixtures/videos/street-people-1080p.mp4 when present (FIXTURE_VIDEO
// overrides), else a generated 10 s 1080p30 testsrc. Private Redis (AOF everysec) and Postgres.
// The upload is measured in-process (the API app and the client share this process, so the
// figure is an upper bound on the API's own RSS); the body is 1 GiB of zero bytes named .mp4,
// which streams to the staging directory in full and is then rejected by content sniffing.
// Last line: JSON with efficiency_full, efficiency_5fps (ours / bare) and upload_1gb_peak_rss_mb.
import { execFile } from 'node:child_process';
import { createReadStream, existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { frameQueue, originalKey, videoQueue } from '@framewise/contracts';
import {
  FrameRepository,
  ResultRepository,
  VideoRepository,
  createDatabase,
  migrateToLatest,
  newVideoId,
} from '@framewise/db';
import { createLogger, createMetricsRegistry } from '@framewise/observability';
import { QueueAdmin, QueueProducer } from '@framewise/queue';
import { LocalVolumeStorage } from '@framewise/storage';
import { startPostgres, startRedis } from '@framewise/testing';
/* eslint-disable import-x/no-relative-packages -- services are not packages anyone imports;
   the bench drives the extractor and the API app directly, as their main.ts files do. */
import { createApp } from '../services/ingestion/src/api/http/app';
import { createApiMetrics } from '../services/ingestion/src/api/metrics';
import { Semaphore } from '../services/ingestion/src/api/uploads/semaphore';
import { UploadQuota } from '../services/ingestion/src/api/uploads/upload-quota';
import { UploadService } from '../services/ingestion/src/api/uploads/upload-service';
import { CancelService } from '../services/ingestion/src/api/videos/cancel-service';
import { EventHub } from '../services/ingestion/src/api/videos/event-hub';
import { FrameExtractor } from '../services/ingestion/src/extractor/frame-extractor';
import { createExtractorMetrics } from '../services/ingestion/src/extractor/metrics';
/* eslint-enable import-x/no-relative-packages */
import { DEFAULT_FRAME_MAX_SIZE, DEFAULT_JPEG_QUALITY, frameOutputArgs } from './stored-frames';
import { median, progress, report, round, timeMs } from './support';

const run = promisify(execFile);
const RUNS = 2;
// eslint-disable-next-line no-restricted-properties -- a bench has no config schema of its own
const FIXTURE = process.env.FIXTURE_VIDEO ?? '/work/shared/fixtures/videos/street-people-1080p.mp4';

async function main(): Promise<void> {
  const work = await mkdtemp(path.join(os.tmpdir(), 'fw-bench-extract-'));
  const redisServer = await startRedis({ appendfsync: 'everysec' });
  const pg = await startPostgres();
  const redis = new Redis(redisServer.url, { maxRetriesPerRequest: null });
  const db = createDatabase({ url: pg.databaseUrl('postgres'), maxConnections: 8 });
  try {
    await migrateToLatest(db);
    let video = FIXTURE;
    if (!existsSync(video)) {
      video = path.join(work, 'generated.mp4');
      progress('fixture missing: generating a 10 s 1080p30 testsrc');
      await run('ffmpeg', [
        '-v',
        'error',
        '-y',
        '-f',
        'lavfi',
        '-i',
        'testsrc2=size=1920x1080:rate=30:duration=10',
        '-c:v',
        'libx264',
        '-pix_fmt',
        'yuv420p',
        video,
      ]);
    }
    const storage = new LocalVolumeStorage({ root: await mkdirp(path.join(work, 'storage')) });
    const keyPrefix = 'bench:';
    const frames = frameQueue({ keyPrefix });
    const videos = new VideoRepository(db);
    const registry = createMetricsRegistry({ service: 'bench', processMetrics: false });
    const extractor = new FrameExtractor(
      videos,
      new FrameRepository(db),
      storage,
      new QueueProducer(frames, redis),
      redis,
      createExtractorMetrics(registry, {
        videos: new QueueAdmin(videoQueue({ keyPrefix }), redis),
        frames: new QueueAdmin(frames, redis),
      }),
      createLogger({ service: 'bench', level: 'silent' }),
      {
        ffmpeg: 'ffmpeg',
        ffprobe: 'ffprobe',
        batchSize: 32,
        timeoutMs: 600_000,
        jpegQuality: DEFAULT_JPEG_QUALITY,
        frameMaxSize: DEFAULT_FRAME_MAX_SIZE,
        keyPrefix,
        tmpDir: work,
      },
    );

    const results: Record<string, number> = {};
    for (const [label, sampling] of [
      ['full', { kind: 'all' }],
      ['5fps', { kind: 'fps', fps: 5 }],
    ] as const) {
      const ours: number[] = [];
      const bare: number[] = [];
      let count = 0;
      for (let r = 0; r < RUNS; r++) {
        const out = await mkdirp(path.join(work, `bare-${label}-${r}`));
        // The same frames the extractor makes (its filter graph and JPEG encoder), so the
        // ratio is the extractor's own cost, not a difference in what is encoded.
        const bareMs = await timeMs(async () => {
          await run('ffmpeg', [
            ...['-v', 'error', '-y', '-i', video],
            ...frameOutputArgs(sampling, DEFAULT_FRAME_MAX_SIZE, DEFAULT_JPEG_QUALITY),
            path.join(out, 'out%06d.jpg'),
          ]);
        });
        const bareFrames = (await readdir(out)).length;
        await rm(out, { recursive: true, force: true });
        bare.push(bareFrames / (bareMs / 1000));

        const id = newVideoId();
        const key = originalKey(id, 'mp4');
        await storage.put(key, createReadStream(video));
        await videos.create({
          id,
          originalFilename: 'bench.mp4',
          contentType: 'video/mp4',
          sizeBytes: 1,
          storageKey: key,
          sampling: sampling,
          modelName: 'yolov8n',
          modelVersion: '1',
        });
        const oursMs = await timeMs(() =>
          extractor.handle({
            id: `video:${id}`,
            group: id,
            at: 0,
            data: { videoId: id },
            payload: '',
          } as never),
        );
        const extracted = (await videos.get(id)).extractedFrames ?? 0;
        ours.push(extracted / (oursMs / 1000));
        count = extracted;
        progress(
          `${label} run ${r + 1}: bare ${bareFrames} frames ${round(bareMs)} ms, ours ${extracted} frames ${round(oursMs)} ms`,
        );
        await storage.deleteByPrefix(`videos/${id}/`);
        await redis.del(frames.keys.pending);
      }
      results[`${label}_frames`] = count;
      results[`${label}_bare_fps`] = round(median(bare), 1);
      results[`${label}_ours_fps`] = round(median(ours), 1);
      results[`efficiency_${label}`] = round(median(ours) / median(bare), 3);
    }

    const peakRssMb = await uploadPeakRss(work, storage, db, redis, keyPrefix);
    console.log('| sampling | frames | bare ffmpeg frames/s | framewise frames/s | efficiency |');
    console.log('|---|---|---|---|---|');
    for (const label of ['full', '5fps']) {
      console.log(
        `| ${label} | ${results[`${label}_frames`]} | ${results[`${label}_bare_fps`]} | ${results[`${label}_ours_fps`]} | ${results[`efficiency_${label}`]} |`,
      );
    }
    report({
      video: path.basename(video),
      ...results,
      efficiency_full: results.efficiency_full,
      efficiency_5fps: results.efficiency_5fps,
      upload_1gb_peak_rss_mb: peakRssMb,
    });
  } finally {
    redis.disconnect();
    await db.destroy();
    await redisServer.stop();
    await pg.stop();
    await rm(work, { recursive: true, force: true });
  }
}

async function uploadPeakRss(
  work: string,
  storage: LocalVolumeStorage,
  db: ReturnType<typeof createDatabase>,
  redis: Redis,
  keyPrefix: string,
): Promise<number> {
  const tmpDir = await mkdirp(path.join(work, 'upload-tmp'));
  const registry = createMetricsRegistry({ service: 'bench-api', processMetrics: false });
  const metrics = createApiMetrics(registry);
  const videos = new VideoRepository(db);
  const logger = createLogger({ service: 'bench', level: 'silent' });
  const events = new EventHub(redis.duplicate(), keyPrefix);
  const app = createApp({
    logger,
    registry,
    checks: [],
    videos,
    results: new ResultRepository(db),
    storage,
    // The default: no upload quota.
    quota: new UploadQuota(redis, keyPrefix, {
      bytesPerPeriod: 0,
      videosPerPeriod: 0,
      periodMs: 86_400_000,
      maxConcurrent: 0,
    }),
    uploads: new UploadService(
      videos,
      storage,
      new QueueProducer(videoQueue({ keyPrefix }), redis),
      redis,
      new Semaphore(2),
      metrics,
      logger,
      {
        ffprobe: 'ffprobe',
        keyPrefix,
        maxDurationS: 36_000,
        maxDimension: 8192,
        idempotencyTtlMs: 60_000,
      },
    ),
    cancels: new CancelService(
      videos,
      storage,
      {
        videos: new QueueAdmin(videoQueue({ keyPrefix }), redis),
        frames: new QueueAdmin(frameQueue({ keyPrefix }), redis),
      },
      redis,
      keyPrefix,
    ),
    events,
    metrics,
    options: {
      maxUploadBytes: 2 * 1024 ** 3,
      tmpDir,
      sampling: { maxFps: 60, maxEveryNth: 1000 },
      defaultSampling: 'fps:5',
      models: ['yolov8n@1'],
      ssePollMs: 5000,
    },
  });
  const server = app.listen(0);
  const port = (server.address() as { port: number }).port;
  global.gc?.();
  let peak = process.memoryUsage().rss;
  const sampler = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss);
  }, 20);
  const boundary = 'fwbench';
  const total = 1024 ** 3;
  const chunk = Buffer.alloc(256 * 1024);
  const body = Readable.from(
    (function* () {
      yield Buffer.from(
        `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.mp4"\r\nContent-Type: video/mp4\r\n\r\n`,
      );
      for (let sent = 0; sent < total; sent += chunk.length) yield chunk;
      yield Buffer.from(`\r\n--${boundary}--\r\n`);
    })(),
  );
  const started = Date.now();
  const status = await new Promise<number>((resolve, reject) => {
    const req = http.request(
      {
        port,
        method: 'POST',
        path: '/v1/videos',
        headers: { 'content-type': `multipart/form-data; boundary=${boundary}` },
      },
      (res) => {
        res.resume();
        res.on('end', () => {
          resolve(res.statusCode ?? 0);
        });
      },
    );
    req.on('error', reject);
    body.pipe(req);
  });
  clearInterval(sampler);
  progress(`1 GiB upload answered ${status} after ${Date.now() - started} ms`);
  server.close();
  await events.close();
  return round(peak / 1024 / 1024, 1);
}

async function mkdirp(dir: string): Promise<string> {
  await mkdir(dir, { recursive: true });
  return dir;
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
