import { once } from 'node:events';
import { readdir, readFile, truncate, writeFile } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import request from 'supertest';
import { frameQueue, videoQueue } from '@framewise/contracts';
import type { Express } from 'express';
import { ResultRepository } from '@framewise/db';
import { createMetricsRegistry } from '@framewise/observability';
import { QueueAdmin, QueueProducer } from '@framewise/queue';
import { probeVideo } from '../../media/probe';
import { testApp } from '../../testing/app.spec-helper';
import {
  ffmpeg,
  makeVideo,
  startInfra,
  testExtractor,
  videoJob,
  type Infra,
} from '../../testing/infra.spec-helper';
import { Semaphore } from '../uploads/semaphore';
import { UploadService } from '../uploads/upload-service';
import type { AppDeps } from './app';
import { createApp } from './app';

const LIMIT = 2 * 1024 * 1024;

/** The parts of the API's JSON answers these tests read. */
interface Body {
  id: string;
  status: string;
  code: string;
  detail: string;
  items: { id: string }[];
  next_cursor: string | null;
}
const bodyOf = (res: request.Response): Body => res.body as Body;
let infra: Infra;
let app: Express;
let closeApp: () => Promise<void>;
let appDeps: AppDeps;
let tmpDir: string;
let videoFile: string;
const queues = () => ({
  videos: new QueueAdmin(videoQueue({ keyPrefix: infra.keyPrefix }), infra.redis),
  frames: new QueueAdmin(frameQueue({ keyPrefix: infra.keyPrefix }), infra.redis),
});

beforeAll(async () => {
  infra = await startInfra('api');
  tmpDir = join(infra.workDir, 'tmp');
  await ffmpeg(['-version']).catch(() => undefined);
  await writeFile(join(infra.workDir, '.keep'), '');
  const { mkdir } = await import('node:fs/promises');
  await mkdir(tmpDir);
  videoFile = await makeVideo(join(infra.workDir, 'clip.mp4'), { seconds: 1, fps: 10 });
  const built = testApp(infra, { tmpDir, maxUploadBytes: LIMIT });
  app = built.app;
  appDeps = built.deps;
  closeApp = built.close;
});
afterAll(async () => {
  await closeApp();
  await infra.close();
});

async function countVideos(): Promise<number> {
  const row = await infra.db
    .selectFrom('videos')
    .select((eb) => eb.fn.countAll<string>().as('n'))
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

async function storedObjects(): Promise<number> {
  let n = 0;
  for await (const object of infra.storage.listAll('videos/')) if (object.key !== '') n++;
  return n;
}

/** The state nothing-half-created is checked against. */
async function snapshot() {
  return {
    videos: await countVideos(),
    objects: await storedObjects(),
    jobs: (await queues().videos.depths()).pending,
  };
}

async function expectNothingLeft(before: Awaited<ReturnType<typeof snapshot>>): Promise<void> {
  expect(await snapshot()).toEqual(before);
  // staged upload directories are removed when the response closes
  await new Promise((r) => setTimeout(r, 50));
  expect(await readdir(tmpDir)).toEqual([]);
}

describe('POST /v1/videos', () => {
  it('stores the original, creates the video and enqueues its job; the extractor takes it from there', async () => {
    const res = await request(app)
      .post('/v1/videos')
      .field('camera', 'cam-3')
      .field('recorded_at', '2026-01-02T03:04:05Z')
      .field('sampling', 'fps:5')
      .attach('file', videoFile, 'clip.mp4')
      .expect(202);
    expect(res.body).toMatchObject({
      status: 'uploaded',
      camera: 'cam-3',
      sampling: 'fps:5',
      model: 'yolov8n@1',
      recorded_at: '2026-01-02T03:04:05.000Z',
    });
    expect(res.headers.location).toBe(`/v1/videos/${bodyOf(res).id}`);
    const id = bodyOf(res).id;
    expect(await infra.storage.exists(`videos/${id}/original.mp4`)).toBe(true);
    expect((await queues().videos.depths()).pending).toBeGreaterThanOrEqual(1);

    const { extractor } = testExtractor(infra, { keyPrefix: infra.keyPrefix, batchSize: 2 });
    await extractor.handle(videoJob(id));
    const got = await request(app).get(`/v1/videos/${id}`).expect(200);
    expect(got.body).toMatchObject({
      status: 'detecting',
      progress: { expected: 5, extracted: 5, detected: 0, failed: 0 },
      probe: { width: 160, height: 120, fps: 10 },
    });
    const frame = await request(app).get(`/v1/videos/${id}/frames/2`).expect(200);
    expect(frame.headers['content-type']).toBe('image/jpeg');

    // a worker's result, then detections and the overlay
    await new ResultRepository(infra.db).insertResults([
      {
        videoId: id,
        frameIndex: 2,
        model: 'yolov8n@1',
        detections: [{ class: 'person', classId: 0, score: 0.9, box: [10, 10, 60, 90] }],
      },
    ]);
    const det = await request(app)
      .get(`/v1/videos/${id}/detections?class=person&min_score=0.5`)
      .expect(200);
    expect(bodyOf(det).items).toEqual([
      expect.objectContaining({
        frame_index: 2,
        time_ms: 400,
        detections: [expect.objectContaining({ class: 'person' })],
      }),
    ]);
    const overlaid = await request(app).get(`/v1/videos/${id}/frames/2?overlay=1`).expect(200);
    expect(Buffer.compare(overlaid.body as Buffer, frame.body as Buffer)).not.toBe(0);
    await request(app).get(`/v1/videos/${id}/frames/99`).expect(404);

    // cancel: frames and original gone, pending frame jobs removed, results kept by default
    const canceled = await request(app).delete(`/v1/videos/${id}`).expect(200);
    expect(bodyOf(canceled).status).toBe('canceled');
    expect(await infra.storage.exists(`videos/${id}/original.mp4`)).toBe(false);
    expect((await queues().frames.depths()).pending).toBe(0);
    const kept = await request(app).get(`/v1/videos/${id}/detections`).expect(200);
    expect(bodyOf(kept).items).toHaveLength(1);
    await request(app).delete(`/v1/videos/${id}?results=delete`).expect(204);
    await request(app).get(`/v1/videos/${id}`).expect(404);
  });

  it('returns the first video for a retried upload with the same Idempotency-Key', async () => {
    const first = await request(app)
      .post('/v1/videos')
      .set('Idempotency-Key', 'k-1')
      .attach('file', videoFile, 'a.mp4')
      .expect(202);
    const before = await snapshot();
    const again = await request(app)
      .post('/v1/videos')
      .set('Idempotency-Key', 'k-1')
      .attach('file', videoFile, 'a.mp4')
      .expect(202);
    expect(bodyOf(again).id).toBe(bodyOf(first).id);
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(await snapshot()).toEqual(before);
  });

  it('lists videos newest first, filtered by status and camera, with a cursor', async () => {
    for (const camera of ['list-a', 'list-a', 'list-b']) {
      await request(app)
        .post('/v1/videos')
        .field('camera', camera)
        .attach('file', videoFile, 'x.mp4')
        .expect(202);
    }
    const page1 = await request(app)
      .get('/v1/videos?camera=list-a&status=uploaded&limit=1')
      .expect(200);
    expect(bodyOf(page1).items).toHaveLength(1);
    const page2 = await request(app)
      .get(`/v1/videos?camera=list-a&limit=1&cursor=${bodyOf(page1).next_cursor ?? ''}`)
      .expect(200);
    expect(bodyOf(page2).items).toHaveLength(1);
    expect(bodyOf(page2).items[0]?.id).not.toBe(bodyOf(page1).items[0]?.id);
    expect(bodyOf(page2).next_cursor).toBeNull();
    await request(app).get('/v1/videos?status=nope').expect(400);
  });

  it('streams status events until the video finishes', async () => {
    const up = await request(app).post('/v1/videos').attach('file', videoFile, 'e.mp4').expect(202);
    const id = bodyOf(up).id;
    setTimeout(() => {
      void request(app)
        .delete(`/v1/videos/${id}`)
        .then(() => undefined);
    }, 300);
    const res = await request(app).get(`/v1/videos/${id}/events`).expect(200);
    expect(res.headers['content-type']).toMatch(/text\/event-stream/);
    expect(res.text).toContain('event: progress');
    expect(res.text).toMatch(/event: done\ndata: .*"status":"canceled"/);
  });

  it('ends the event stream right after the done event, not at the next poll', async () => {
    // Polling once a minute: only the pub/sub wake-up of the cancel can end the stream in time.
    const slowPoll = createApp({
      ...appDeps,
      registry: createMetricsRegistry({ service: 'test-slow-poll', processMetrics: false }),
      options: { ...appDeps.options, ssePollMs: 60_000 },
    });
    const up = await request(app).post('/v1/videos').attach('file', videoFile, 'e.mp4').expect(202);
    const id = bodyOf(up).id;
    setTimeout(() => {
      void request(app)
        .delete(`/v1/videos/${id}`)
        .then(() => undefined);
    }, 300);
    const started = Date.now();
    const res = await request(slowPoll).get(`/v1/videos/${id}/events`).expect(200);
    expect(res.text).toMatch(/event: done\ndata: .*"status":"canceled"/);
    expect(Date.now() - started).toBeLessThan(10_000);
  });
});

describe('bad input: a clear 4xx problem+json and nothing half-created', () => {
  async function rejects(
    send: (r: request.Test) => request.Test,
    status: number,
    code: string,
  ): Promise<void> {
    const before = await snapshot();
    const res = await send(request(app).post('/v1/videos')).expect(status);
    expect(res.headers['content-type']).toMatch(/application\/problem\+json/);
    expect(res.body).toMatchObject({ status, code, errorId: expect.any(String) as unknown });
    await expectNothingLeft(before);
  }

  it('zero-byte file', async () => {
    const empty = join(infra.workDir, 'empty.mp4');
    await writeFile(empty, '');
    await rejects((r) => r.attach('file', empty, 'empty.mp4'), 400, 'empty_file');
  });

  it('truncated mp4 (index at the end, as ffmpeg writes by default)', async () => {
    const cut = join(infra.workDir, 'cut.mp4');
    await writeFile(cut, await readFile(videoFile));
    await truncate(cut, 3000);
    await rejects((r) => r.attach('file', cut, 'cut.mp4'), 422, 'truncated_video');
  });

  it('truncated mp4 with its index at the front (+faststart): ffprobe passes it, the box sizes do not', async () => {
    const whole = await makeVideo(join(infra.workDir, 'fast.mp4'), {
      seconds: 2,
      fps: 10,
      faststart: true,
    });
    const bytes = await readFile(whole);
    expect(bytes.toString('latin1', 36, 40)).toBe('moov'); // index right after ftyp
    const cut = join(infra.workDir, 'fast-cut.mp4');
    const kept = Math.floor(bytes.length * 0.6);
    await writeFile(cut, bytes.subarray(0, kept));
    // The gap this closes: ffprobe reads only the index and accepts the cut file.
    expect((await probeVideo('ffprobe', cut)).ok).toBe(true);

    const before = await snapshot();
    const res = await request(app)
      .post('/v1/videos')
      .attach('file', cut, 'fast-cut.mp4')
      .expect(422);
    expect(res.headers['content-type']).toMatch(/application\/problem\+json/);
    expect(res.body).toMatchObject({
      code: 'truncated_video',
      box: 'mdat',
      missingBytes: bytes.length - kept,
    });
    expect(bodyOf(res).detail).toMatch(/truncated.*upload the complete file/);
    await expectNothingLeft(before);

    // the complete file is accepted
    await request(app).post('/v1/videos').attach('file', whole, 'fast.mp4').expect(202);
  });

  it('text file named .mp4', async () => {
    const text = join(infra.workDir, 'notes.mp4');
    await writeFile(text, 'hello, this is not a video\n'.repeat(100));
    await rejects((r) => r.attach('file', text, 'notes.mp4'), 415, 'unsupported_content');
  });

  it('an image (as .png, and renamed .mp4)', async () => {
    const png = join(infra.workDir, 'pic.png');
    await ffmpeg(['-f', 'lavfi', '-i', 'color=c=red:s=64x64', '-frames:v', '1', png]);
    await rejects((r) => r.attach('file', png, 'pic.png'), 415, 'unsupported_extension');
    await rejects((r) => r.attach('file', png, 'pic.mp4'), 415, 'unsupported_content');
  });

  it('an audio-only file', async () => {
    const audio = join(infra.workDir, 'tone.mp4');
    await ffmpeg(['-f', 'lavfi', '-i', 'sine=frequency=440:duration=1', '-c:a', 'aac', audio]);
    await rejects((r) => r.attach('file', audio, 'tone.mp4'), 422, 'no_video_stream');
  });

  it('a file over the size limit (declared length refused before the body is read)', async () => {
    const big = join(infra.workDir, 'big.mp4');
    await writeFile(big, Buffer.alloc(LIMIT + 200 * 1024, 1));
    const before = await snapshot();
    const res = await request(app)
      .post('/v1/videos')
      .attach('file', big, 'big.mp4')
      .catch((error: unknown) => error as { status?: number; response?: request.Response });
    // The server answers 413 and closes; a client still writing may see the reset instead.
    if ('status' in res && res.status !== undefined) expect(res.status).toBe(413);
    await expectNothingLeft(before);
  });

  it('a chunked file over the size limit is cut off while streaming', async () => {
    const before = await snapshot();
    const { Readable } = await import('node:stream');
    const http = await import('node:http');
    const server = app.listen(0);
    const port = (server.address() as { port: number }).port;
    let produced = 0;
    // Far more than loopback could carry in the test's time if the server read it all.
    const total = 4 * 1024 ** 3;
    const boundary = 'fwboundary';
    const body = Readable.from(
      (function* () {
        yield Buffer.from(
          `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="huge.mp4"\r\nContent-Type: video/mp4\r\n\r\n`,
        );
        const chunk = Buffer.alloc(64 * 1024, 7);
        while (produced < total) {
          produced += chunk.length;
          yield chunk;
        }
        yield Buffer.from(`\r\n--${boundary}--\r\n`);
      })(),
    );
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
          resolve(res.statusCode ?? 0);
        },
      );
      req.on('error', reject);
      body.pipe(req);
      body.on('error', reject);
    });
    body.destroy();
    server.close();
    expect(status).toBe(413);
    expect(produced).toBeLessThan(256 * 1024 ** 2);
    await expectNothingLeft(before);
  });

  it('malformed multipart bodies (no boundary, never closed, garbage)', async () => {
    const part =
      '--XyZ\r\nContent-Disposition: form-data; name="file"; filename="a.mp4"\r\n\r\nabc\r\n';
    const malformed: [string, string][] = [
      ['multipart/form-data', `${part}--XyZ--\r\n`],
      ['multipart/form-data; boundary=XyZ', part],
      ['multipart/form-data; boundary=XyZ', '\u0000garbage without a boundary\r\n\r\n'],
    ];
    for (const [contentType, body] of malformed) {
      await rejects((r) => r.set('Content-Type', contentType).send(body), 400, 'bad_multipart');
    }
  });

  it('an upload that stalls half-way is cut after the idle timeout (408), nothing left', async () => {
    const cutting = createApp({
      ...appDeps,
      registry: createMetricsRegistry({ service: 'test-idle', processMetrics: false }),
      options: { ...appDeps.options, uploadIdleTimeoutMs: 500 },
    });
    const before = await snapshot();
    const server = cutting.listen(0, '127.0.0.1');
    await once(server, 'listening');
    try {
      const { port } = server.address() as AddressInfo;
      const started = Date.now();
      const answer = await new Promise<{ status: number; body: string }>((resolve, reject) => {
        const req = httpRequest({
          host: '127.0.0.1',
          port,
          method: 'POST',
          path: '/v1/videos',
          headers: {
            'content-type': 'multipart/form-data; boundary=XyZ',
            'content-length': 100_000,
          },
        });
        req.on('response', (res) => {
          let body = '';
          res.on('data', (chunk: Buffer) => (body += chunk.toString()));
          res.on('end', () => {
            resolve({ status: res.statusCode ?? 0, body });
          });
        });
        req.on('error', reject);
        // Part of the body, then silence.
        req.write(
          '--XyZ\r\nContent-Disposition: form-data; name="file"; filename="a.mp4"\r\n\r\nabc',
        );
      });
      expect(answer.status).toBe(408);
      expect(JSON.parse(answer.body)).toMatchObject({ code: 'upload_timeout' });
      expect(Date.now() - started).toBeLessThan(5000);
      await expectNothingLeft(before);
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });

  it('an upload whose body is complete is not cut while ffprobe takes longer than the idle timeout', async () => {
    const slowProbe = join(infra.workDir, 'slow-ffprobe.sh');
    await writeFile(slowProbe, '#!/bin/sh\nsleep 1.5\nexec ffprobe "$@"\n', { mode: 0o755 });
    const patient = createApp({
      ...appDeps,
      registry: createMetricsRegistry({ service: 'test-idle-probe', processMetrics: false }),
      uploads: new UploadService(
        appDeps.videos,
        infra.storage,
        new QueueProducer(videoQueue({ keyPrefix: infra.keyPrefix }), infra.redis),
        infra.redis,
        new Semaphore(1),
        appDeps.metrics,
        appDeps.logger,
        {
          ffprobe: slowProbe,
          keyPrefix: infra.keyPrefix,
          maxDurationS: 600,
          maxDimension: 4096,
          idempotencyTtlMs: 60_000,
        },
      ),
      options: { ...appDeps.options, uploadIdleTimeoutMs: 300 },
    });
    const res = await request(patient).post('/v1/videos').attach('file', videoFile, 'e.mp4');
    expect(res.status).toBe(202);
    await request(app)
      .delete(`/v1/videos/${bodyOf(res).id}?results=delete`)
      .expect(204);
  });

  it('missing file field', async () => {
    await rejects((r) => r.field('camera', 'x'), 400, 'missing_file');
  });

  it('a file under another field name', async () => {
    await rejects((r) => r.attach('video', videoFile, 'clip.mp4'), 400, 'unexpected_file');
  });

  it('unknown fields', async () => {
    await rejects(
      (r) => r.field('colour', 'red').attach('file', videoFile, 'clip.mp4'),
      400,
      'unknown_fields',
    );
  });

  it('bad recorded_at', async () => {
    await rejects(
      (r) => r.field('recorded_at', 'yesterday').attach('file', videoFile, 'clip.mp4'),
      400,
      'invalid_fields',
    );
  });

  it('sampling out of range', async () => {
    await rejects(
      (r) => r.field('sampling', 'fps:500').attach('file', videoFile, 'clip.mp4'),
      400,
      'invalid_sampling',
    );
  });

  it('unknown model', async () => {
    await rejects(
      (r) => r.field('model', 'yolov99@7').attach('file', videoFile, 'clip.mp4'),
      400,
      'unknown_model',
    );
  });

  it('unknown video id and unknown route', async () => {
    const res = await request(app)
      .get('/v1/videos/0192f1c4-7a3e-7b1c-9d2e-3f4a5b6c7d8e')
      .expect(404);
    expect(bodyOf(res).code).toBe('video_not_found');
    await request(app).get('/v1/nothing').expect(404);
  });
});

describe('100 concurrent uploads', () => {
  it('each creates exactly one video and one job', async () => {
    const before = await snapshot();
    const responses = await Promise.all(
      Array.from({ length: 100 }, (_, i) =>
        request(app)
          .post('/v1/videos')
          .field('camera', `c-${i}`)
          .attach('file', videoFile, 'clip.mp4'),
      ),
    );
    expect(responses.map((r) => r.status)).toEqual(Array(100).fill(202));
    expect(new Set(responses.map((r) => bodyOf(r).id)).size).toBe(100);
    const after = await snapshot();
    expect(after.videos - before.videos).toBe(100);
    expect(after.jobs - before.jobs).toBe(100);
    expect(after.objects - before.objects).toBe(100);
    expect(await readdir(tmpDir)).toEqual([]);
  });
});
