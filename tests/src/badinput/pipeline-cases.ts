// Bad inputs behind the API: payloads pushed straight onto the frame queue, frames broken in
// storage before a worker reads them, and a worker started with a corrupt model.
import { randomUUID } from 'node:crypto';
import { rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { frameJobId, frameKey } from '@framewise/contracts';
import type { BadInputCase } from './case';
import { CaseFailure, check, type SuiteContext } from './context';

/** Every 4th frame of the 40-frame video: 10 frames per staged video. */
const STAGED_EVERY = 4;
const STAGED_FRAMES = 10;

/** Waits until `payload` is in no pending or processing list of the frame queue. */
async function waitOutOfQueue(ctx: SuiteContext, payload: string, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (!(await inQueue(ctx, payload))) return;
    if (Date.now() > deadline) throw new CaseFailure(`still queued after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function inQueue(ctx: SuiteContext, payload: string): Promise<boolean> {
  const keys = ctx.frames.keys;
  const consumers = await ctx.redis.smembers(keys.consumers);
  const lists = [keys.pending, ...consumers.map((c) => keys.processing(c))];
  for (const list of lists) {
    const entries = await ctx.redis.lrange(list, 0, -1);
    if (entries.includes(payload)) return true;
  }
  return false;
}

async function deadLetterOf(ctx: SuiteContext, payload: string) {
  const dead = await ctx.framesAdmin.listDead({ limit: 10_000 });
  return dead.filter((d) => d.payload === payload);
}

/** A payload pushed raw onto the pending list must end in the dead-letter list, once. */
function deadLetteredPayload(name: string, payload: () => string): BadInputCase {
  return {
    channel: 'queue',
    name,
    expected: 'dead-lettered once as permanent; no worker restarts',
    run: async (ctx) => {
      const raw = payload();
      await ctx.redis.lpush(ctx.frames.keys.pending, raw);
      await waitOutOfQueue(ctx, raw);
      const dead = await deadLetterOf(ctx, raw);
      check(dead.length === 1, `${dead.length} dead letters for it`);
      check(dead[0]?.permanent === true, `dead letter not permanent: ${JSON.stringify(dead[0])}`);
    },
  };
}

/** An upload whose frames wait in the queue (no worker runs while cases are staged). */
async function stagedVideo(ctx: SuiteContext): Promise<string> {
  const video = await ctx.probe.uploadAccepted(ctx.media.good, {
    sampling: `every:${STAGED_EVERY}`,
  });
  const deadline = Date.now() + 30_000;
  for (;;) {
    const now = await ctx.probe.video(video.id);
    if (now.status === 'detecting' && now.progress.extracted === STAGED_FRAMES) return video.id;
    if (Date.now() > deadline) {
      throw new CaseFailure(`staged video still ${now.status} ${JSON.stringify(now.progress)}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The pending payloads of one video's frames, by frame index. */
async function pendingJobsOf(ctx: SuiteContext, videoId: string): Promise<Map<number, string>> {
  const jobs = new Map<number, string>();
  for (const raw of await ctx.redis.lrange(ctx.frames.keys.pending, 0, -1)) {
    const parsed = JSON.parse(raw) as { data?: { videoId?: string; frameIndex?: number } };
    if (parsed.data?.videoId === videoId && parsed.data.frameIndex !== undefined) {
      jobs.set(parsed.data.frameIndex, raw);
    }
  }
  return jobs;
}

/** The video's final state and its frames with results. */
async function finalState(ctx: SuiteContext, videoId: string) {
  const video = await ctx.probe.waitFinal(videoId, 60_000);
  const { items } = await ctx.probe.allDetections(videoId, 1000);
  return { video, frames: items.map((f) => f.frame_index) };
}

function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}

/** Breaks one frame in storage while it waits in the queue. */
function brokenFrameCase(
  name: string,
  frameIndex: number,
  breakIt: (file: string) => Promise<void>,
): BadInputCase {
  return {
    channel: 'storage',
    name,
    expected:
      'the frame is a recorded permanent failure (dead-lettered once, not retried); the other frames are detected; the video ends completed_with_errors; the worker keeps running',
    stage: async (ctx) => {
      const videoId = await stagedVideo(ctx);
      await breakIt(path.join(ctx.stack.dataDir, 'frames', frameKey(videoId, frameIndex)));
      const jobs = await pendingJobsOf(ctx, videoId);
      return { videoId, payload: jobs.get(frameIndex) };
    },
    run: async (ctx, staged) => {
      const { videoId, payload } = staged as { videoId: string; payload?: string };
      check(payload !== undefined, 'the broken frame had no pending job');
      const { video, frames } = await finalState(ctx, videoId);
      check(video.status === 'completed_with_errors', `status ${video.status}`);
      check(
        video.progress.failed === 1,
        `progress ${JSON.stringify(video.progress)}, expected 1 failed`,
      );
      const others = range(STAGED_FRAMES).filter((i) => i !== frameIndex);
      check(
        JSON.stringify(frames) === JSON.stringify(others),
        `frames with results: ${JSON.stringify(frames)}`,
      );
      const dead = await deadLetterOf(ctx, payload ?? '');
      check(dead.length === 1, `${dead.length} dead letters for the frame`);
      check(dead[0]?.deliveries === 1, `delivered ${dead[0]?.deliveries} times (retried)`);
    },
  };
}

export const QUEUE_CASES: readonly BadInputCase[] = [
  deadLetteredPayload('queue: a payload that is not JSON', () => `{not json ${randomUUID()}`),
  deadLetteredPayload('queue: JSON of the wrong shape', () =>
    JSON.stringify({ id: `bad-${randomUUID()}`, data: { videoId: 'nope', frameIndex: -1 } }),
  ),
  deadLetteredPayload('queue: a 2 MiB payload', () =>
    JSON.stringify({
      id: `big-${randomUUID()}`,
      data: {
        videoId: randomUUID(),
        frameIndex: 0,
        storageKey: 'k'.repeat(2 * 1024 * 1024),
        model: 'red-square@1',
      },
    }),
  ),
  {
    channel: 'queue',
    name: 'queue: a job for a video that does not exist',
    expected: 'dropped (acked without a write), no dead letter, no result',
    run: async (ctx) => {
      const data = {
        videoId: randomUUID(),
        frameIndex: 0,
        storageKey: 'videos/none/frames/000000.jpg',
        model: 'red-square@1',
      };
      const raw = JSON.stringify({
        id: frameJobId(data),
        group: data.videoId,
        at: Date.now(),
        data,
      });
      await ctx.redis.lpush(ctx.frames.keys.pending, raw);
      await waitOutOfQueue(ctx, raw);
      check((await deadLetterOf(ctx, raw)).length === 0, 'it was dead-lettered');
      const response = await ctx.probe.request(`/v1/videos/${data.videoId}/detections`);
      check(response.status === 404, `detections of the unknown video: ${response.status}`);
    },
  },
  {
    channel: 'queue',
    name: 'queue: every job of a video pushed 3 more times',
    expected: 'one result per frame: completed, no failures, no dead letters, queue drained',
    stage: async (ctx) => {
      const videoId = await stagedVideo(ctx);
      const jobs = await pendingJobsOf(ctx, videoId);
      check(jobs.size === STAGED_FRAMES, `${jobs.size} pending jobs`);
      for (const raw of jobs.values()) {
        await ctx.redis.lpush(ctx.frames.keys.pending, raw, raw, raw);
      }
      return { videoId, payloads: [...jobs.values()] };
    },
    run: async (ctx, staged) => {
      const { videoId, payloads } = staged as { videoId: string; payloads: string[] };
      const { video, frames } = await finalState(ctx, videoId);
      check(video.status === 'completed', `status ${video.status}`);
      check(
        JSON.stringify(frames) === JSON.stringify(range(STAGED_FRAMES)),
        `frames ${JSON.stringify(frames)}`,
      );
      for (const raw of payloads) {
        await waitOutOfQueue(ctx, raw);
        check((await deadLetterOf(ctx, raw)).length === 0, 'a duplicate was dead-lettered');
      }
      ctx.accepted.set(videoId, STAGED_FRAMES);
    },
  },
  {
    channel: 'queue',
    name: 'queue: a job whose storage key escapes the storage root',
    expected:
      'nothing read outside the root: a recorded permanent failure or a drop; the video finishes its own frames',
    stage: async (ctx) => {
      const videoId = await stagedVideo(ctx);
      const data = {
        videoId,
        frameIndex: 5000,
        storageKey: '../../../../../../etc/passwd',
        model: 'red-square@1',
      };
      const raw = JSON.stringify({ id: frameJobId(data), group: videoId, at: Date.now(), data });
      await ctx.redis.lpush(ctx.frames.keys.pending, raw);
      return { videoId, raw };
    },
    run: async (ctx, staged) => {
      const { videoId, raw } = staged as { videoId: string; raw: string };
      const { video, frames } = await finalState(ctx, videoId);
      await waitOutOfQueue(ctx, raw);
      check(
        video.status === 'completed',
        `status ${video.status} ${JSON.stringify(video.progress)}`,
      );
      check(
        JSON.stringify(frames) === JSON.stringify(range(STAGED_FRAMES)),
        `frames ${JSON.stringify(frames)}`,
      );
      ctx.accepted.set(videoId, STAGED_FRAMES);
    },
  },
];

export const STORAGE_CASES: readonly BadInputCase[] = [
  brokenFrameCase('storage: a frame deleted before the worker reads it', 3, (file) => rm(file)),
  brokenFrameCase('storage: a frame replaced by garbage bytes', 6, (file) =>
    writeFile(file, Buffer.from('GIF89a this is not a jpeg at all'.repeat(20))),
  ),
];

/** A worker started with a bad model: a clear error, exit code 1, nothing taken from the queue. */
function badModelCase(
  name: string,
  model: (ctx: SuiteContext) => string,
  message: RegExp,
): BadInputCase {
  return {
    channel: 'model',
    name,
    expected: `the worker exits non-zero at start with an error matching ${String(message)}; no job claimed`,
    stage: async (ctx) => {
      const pendingBefore = await ctx.redis.llen(ctx.frames.keys.pending);
      check(pendingBefore > 0, 'no pending jobs to (not) consume');
      const consumer = `badmodel-${randomUUID().slice(0, 8)}`;
      const { code, output, timedOut } = await ctx.runEntry(
        'services/worker/src/main.ts',
        'services/worker/tsconfig.json',
        { WORKER_MODEL_PATH: model(ctx), WORKER_CONSUMER_ID: consumer, OPS_PORT: '0' },
        [],
        60_000,
      );
      check(!timedOut, 'the worker was still running after 60 s');
      check(code !== 0 && code !== null, `exit code ${String(code)}`);
      check(message.test(output), `no clear error in its output: ${output.slice(-600)}`);
      check(
        (await ctx.redis.llen(ctx.frames.keys.pending)) === pendingBefore,
        'pending jobs changed',
      );
      check((await ctx.redis.llen(ctx.frames.keys.processing(consumer))) === 0, 'it claimed jobs');
      return undefined;
    },
    run: () => Promise.resolve(),
  };
}

export const MODEL_CASES: readonly BadInputCase[] = [
  badModelCase('model: garbage bytes', (c) => c.media.garbageModel, /model|onnx/i),
  badModelCase('model: truncated file', (c) => c.media.truncatedModel, /model|onnx/i),
  badModelCase(
    'model: missing file',
    (c) => path.join(c.workDir, 'no-such-model.onnx'),
    /model|no such file|not found|ENOENT/i,
  ),
];
