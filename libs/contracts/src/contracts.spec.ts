import { DB_FINAL_STATUSES, VIDEO_STATUSES as DB_STATUSES } from './db-statuses.spec-helper';
import {
  FrameJob,
  VIDEO_STATUSES,
  isFinalStatus,
  frameJobEntry,
  frameJobId,
  frameKey,
  frameQueue,
  framesPrefix,
  originalKey,
  parseVideoEvent,
  publishVideoEvent,
  videoEventsChannel,
  videoJobId,
  videoPrefix,
  videoQueue,
} from './index';

const videoId = '0192f1c4-7a3e-7b1c-9d2e-3f4a5b6c7d8e';

describe('jobs', () => {
  it('validates frame jobs and rejects what a worker could not use', () => {
    const job = { videoId, frameIndex: 3, storageKey: frameKey(videoId, 3), model: 'yolov8n@1' };
    expect(FrameJob.parse(job)).toEqual(job);
    expect(FrameJob.safeParse({ ...job, frameIndex: -1 }).success).toBe(false);
    expect(FrameJob.safeParse({ ...job, videoId: 'not-a-uuid' }).success).toBe(false);
    expect(FrameJob.safeParse({ ...job, model: '' }).success).toBe(false);
    const sized = { ...job, sourceSize: { width: 1920, height: 1080 } };
    expect(FrameJob.parse(sized)).toEqual(sized);
    expect(FrameJob.safeParse({ ...job, sourceSize: { width: 0, height: 1 } }).success).toBe(false);
  });

  it('defines the two queues with their hash tags and the tunables given', () => {
    const frames = frameQueue({ keyPrefix: 't:x:', maxDeliveries: 3 });
    expect(frames.keys.pending).toBe('t:x:{frames}:pending');
    expect(frames.maxDeliveries).toBe(3);
    expect(videoQueue().keys.pending).toBe('fw:{videos}:pending');
  });

  it('round-trips a frame job through the queue encoding', () => {
    const frames = frameQueue();
    const data = { videoId, frameIndex: 0, storageKey: frameKey(videoId, 0), model: 'm@1' };
    const { id, payload } = frames.encode({ id: frameJobId(data), group: videoId, data });
    const decoded = frames.decode(payload);
    expect(decoded.ok && decoded.job).toMatchObject({ id, group: videoId, data });
  });

  it('derives job ids deterministically', () => {
    expect(videoJobId(videoId)).toBe(`video:${videoId}`);
    expect(frameJobId({ videoId, frameIndex: 12, model: 'yolov8n@1' })).toBe(
      `frame:${videoId}:12:yolov8n@1`,
    );
  });

  it('puts a frame job on the queue under its id, grouped by its video', () => {
    const data = { videoId, frameIndex: 3, storageKey: frameKey(videoId, 3), model: 'm@1' };
    expect(frameJobEntry(data)).toEqual({ id: `frame:${videoId}:3:m@1`, group: videoId, data });
  });
});

describe('storage keys', () => {
  it('lays out a video under one prefix, frames zero-padded', () => {
    expect(originalKey(videoId, '.MP4')).toBe(`videos/${videoId}/original.mp4`);
    expect(frameKey(videoId, 42)).toBe(`videos/${videoId}/frames/000042.jpg`);
    expect(frameKey(videoId, 42).startsWith(framesPrefix(videoId))).toBe(true);
    expect(framesPrefix(videoId).startsWith(videoPrefix(videoId))).toBe(true);
  });

  it('rejects what would make a bad key', () => {
    expect(() => originalKey(videoId, '../x')).toThrow(RangeError);
    expect(() => frameKey(videoId, -1)).toThrow(RangeError);
    expect(() => frameKey(videoId, 1.5)).toThrow(RangeError);
  });
});

describe('events', () => {
  it('lists the same statuses as the database', () => {
    expect([...VIDEO_STATUSES].sort()).toEqual([...DB_STATUSES].sort());
    expect(VIDEO_STATUSES.filter(isFinalStatus).sort()).toEqual([...DB_FINAL_STATUSES].sort());
  });

  it('publishes a validated event on the video channel, and parses it back', async () => {
    const sent: [string, string][] = [];
    const redis = {
      publish: (channel: string, message: string) => {
        sent.push([channel, message]);
        return Promise.resolve(1);
      },
    };
    await publishVideoEvent(redis, 'fw:', {
      videoId,
      type: 'progress',
      status: 'detecting',
      progress: { expected: 10, extracted: 10, detected: 4, failed: 0 },
    });
    expect(sent).toHaveLength(1);
    expect(sent[0]![0]).toBe(videoEventsChannel('fw:', videoId));
    expect(parseVideoEvent(sent[0]![1])).toMatchObject({ videoId, status: 'detecting' });
    await expect(
      publishVideoEvent(redis, 'fw:', { videoId, type: 'status', status: 'exploded' as 'failed' }),
    ).rejects.toThrow();
    expect(parseVideoEvent('not json')).toBeUndefined();
    expect(parseVideoEvent('{"videoId":"x"}')).toBeUndefined();
  });
});
