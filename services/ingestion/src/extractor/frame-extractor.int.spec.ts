import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import sharp from 'sharp';
import { frameQueue, originalKey, type FrameJob } from '@framewise/contracts';
import { FrameRepository, VideoRepository, newVideoId, type Sampling } from '@framewise/db';
import {
  makeVideo,
  startInfra,
  testExtractor,
  videoJob,
  type Infra,
} from '../testing/infra.spec-helper';

let infra: Infra;
beforeAll(async () => {
  infra = await startInfra('extractor');
});
afterAll(async () => {
  await infra.close();
});

let queuesMade = 0;

/** An extractor with queues of its own (a key prefix under the file's), so counts are per test. */
function extractorFor(batchSize = 4, timeoutMs = 60_000) {
  return testExtractor(infra, {
    keyPrefix: `${infra.keyPrefix}${++queuesMade}:`,
    batchSize,
    timeoutMs,
  });
}

async function uploaded(file: string, sampling: Sampling) {
  const id = newVideoId();
  const key = originalKey(id, 'mp4');
  const { createReadStream } = await import('node:fs');
  await infra.storage.put(key, createReadStream(file));
  return new VideoRepository(infra.db).create({
    id,
    originalFilename: 'clip.mp4',
    contentType: 'video/mp4',
    sizeBytes: 1,
    storageKey: key,
    sampling,
    modelName: 'yolov8n',
    modelVersion: '1',
  });
}

const jobOf = videoJob;

describe('FrameExtractor', () => {
  it('extracts at a sampled rate: frames in storage, manifest with timestamps, frame jobs, detecting', async () => {
    const file = await makeVideo(join(infra.workDir, 'a.mp4'), { seconds: 2, fps: 10 });
    const video = await uploaded(file, { kind: 'fps', fps: 5 });
    const { extractor, frames } = extractorFor(4);
    await extractor.handle(jobOf(video.id));

    const after = await new VideoRepository(infra.db).get(video.id);
    expect(after.status).toBe('detecting');
    expect(after.extractedFrames).toBe(10);
    expect(after.probe).toMatchObject({ width: 160, height: 120, fps: 10 });
    expect((await frames.depths()).pending).toBe(10);
    const stored = await infra.storage.list(`videos/${video.id}/frames/`);
    expect(stored.objects).toHaveLength(10);
    const head = await infra.storage.getBuffer(`videos/${video.id}/frames/000009.jpg`);
    expect(head.subarray(0, 2)).toEqual(Buffer.from([0xff, 0xd8]));
    const rows = await infra.db
      .selectFrom('frames')
      .select(['frame_index', 'time_ms'])
      .where('video_id', '=', video.id)
      .orderBy('frame_index')
      .execute();
    expect(rows.map((r) => r.time_ms)).toEqual([
      0, 200, 400, 600, 800, 1000, 1200, 1400, 1600, 1800,
    ]);
  });

  it('takes every n-th frame, timed by the source rate', async () => {
    const file = await makeVideo(join(infra.workDir, 'b.mp4'), { seconds: 1, fps: 10 });
    const video = await uploaded(file, { kind: 'everyNth', n: 3 });
    await extractorFor(2).extractor.handle(jobOf(video.id));
    const rows = await infra.db
      .selectFrom('frames')
      .select(['time_ms'])
      .where('video_id', '=', video.id)
      .orderBy('frame_index')
      .execute();
    expect(rows.map((r) => r.time_ms)).toEqual([0, 300, 600, 900]);
  });

  it('stores frames scaled down to the frame size, upright, and says the video size in each job', async () => {
    const plain = await makeVideo(join(infra.workDir, 'hd.mp4'), { seconds: 1, size: '640x360' });
    // A phone video: coded 640x360 with a quarter-turn display matrix, so it is upright 360x640.
    const rotated = join(infra.workDir, 'rotated.mp4');
    await promisify(execFile)('ffmpeg', [
      ...['-v', 'error', '-y', '-i', plain, '-c', 'copy', '-metadata:s:v', 'rotate=90', rotated],
    ]);
    const cases = [
      { file: plain, maxSize: 320, source: [640, 360], stored: [320, 180] },
      { file: rotated, maxSize: 320, source: [360, 640], stored: [180, 320] },
      { file: plain, maxSize: 0, source: [640, 360], stored: [640, 360] },
      { file: plain, maxSize: 1280, source: [640, 360], stored: [640, 360] },
    ];
    for (const { file, maxSize, source, stored } of cases) {
      const video = await uploaded(file, { kind: 'fps', fps: 2 });
      const keyPrefix = `${infra.keyPrefix}${++queuesMade}:`;
      const { extractor } = testExtractor(infra, { keyPrefix, frameMaxSize: maxSize });
      await extractor.handle(jobOf(video.id));

      const after = await new VideoRepository(infra.db).get(video.id);
      expect([after.probe?.width, after.probe?.height]).toEqual(source);
      const frame = await infra.storage.getBuffer(`videos/${video.id}/frames/000000.jpg`);
      const meta = await sharp(frame).metadata();
      expect([meta.width, meta.height]).toEqual(stored);
      const pending = await infra.redis.lrange(frameQueue({ keyPrefix }).keys.pending, 0, -1);
      expect(pending).toHaveLength(2);
      for (const entry of pending) {
        const job = (JSON.parse(entry) as { data: FrameJob }).data;
        expect(job.sourceSize).toEqual({ width: source[0], height: source[1] });
      }
    }
  });

  it('re-running a job (crash recovery) creates no duplicate manifest rows', async () => {
    const file = await makeVideo(join(infra.workDir, 'c.mp4'), { seconds: 1, fps: 10 });
    const video = await uploaded(file, { kind: 'all' });
    const { extractor, frames } = extractorFor(3);
    await new VideoRepository(infra.db).transition(video.id, 'extracting');
    // a previous run that died after its first batch
    await new FrameRepository(infra.db).insertManifest(video.id, [
      { index: 0, timeMs: 0, storageKey: `videos/${video.id}/frames/000000.jpg` },
      { index: 1, timeMs: 100, storageKey: `videos/${video.id}/frames/000001.jpg` },
    ]);
    await extractor.handle(jobOf(video.id));
    expect(await new FrameRepository(infra.db).count(video.id)).toBe(10);
    // only the frames the earlier run had not recorded were published
    expect((await frames.depths()).pending).toBe(8);
    expect((await new VideoRepository(infra.db).get(video.id)).status).toBe('detecting');
  });

  it('fails a video ffmpeg cannot decode, without retrying', async () => {
    const video = await uploaded(__filename, { kind: 'all' });
    await extractorFor().extractor.handle(jobOf(video.id));
    const after = await new VideoRepository(infra.db).get(video.id);
    expect(after.status).toBe('failed');
    expect(after.error?.code).toBe('undecodable_video');
  });

  it('kills ffmpeg and fails the video on timeout', async () => {
    const file = await makeVideo(join(infra.workDir, 'd.mp4'), {
      seconds: 20,
      fps: 30,
      size: '640x480',
    });
    const video = await uploaded(file, { kind: 'all' });
    await extractorFor(8, 300).extractor.handle(jobOf(video.id));
    const after = await new VideoRepository(infra.db).get(video.id);
    expect(after.status).toBe('failed');
    expect(after.error?.code).toBe('extraction_timeout');
  });

  it('does nothing for a canceled video', async () => {
    const file = await makeVideo(join(infra.workDir, 'e.mp4'), { seconds: 1 });
    const video = await uploaded(file, { kind: 'all' });
    await new VideoRepository(infra.db).transition(video.id, 'canceled');
    const { extractor, frames } = extractorFor();
    await extractor.handle(jobOf(video.id));
    expect((await frames.depths()).pending).toBe(0);
  });
});
