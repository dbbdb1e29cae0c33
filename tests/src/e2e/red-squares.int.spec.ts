// End to end with ground truth: a lavfi video of moving red rectangles, uploaded over HTTP to a
// whole framewise system (API, extractor, worker, reaper as separate processes, private Redis
// and Postgres), detected by the red-square model whose output is known exactly. Every sampled
// frame's detections must match the drawn rectangles after the letterbox round trip.
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { RED_SQUARE_MODEL, writeRedSquareModel } from '@framewise/detector';
import { startStack, type Stack } from '@framewise/stack';
import { ApiClient } from '../support/api-client';
import {
  RED_SQUARES_VIDEO,
  truthProblems,
  writeRedSquaresVideo,
} from '../support/ground-truth-video';

const INPUT_SIZE = 320;
const EVERY = 2;
/** Sampled frames of `every:2` over the 40-frame video: source frames 0, 2, …, 38. */
const SAMPLED = Math.ceil(RED_SQUARES_VIDEO.frames / EVERY);

describe('end to end: red squares over HTTP', () => {
  let dir: string;
  let videoFile: string;
  let stack: Stack | undefined;
  let client: ApiClient;
  const logs: string[] = [];

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'fw-e2e-'));
    // Postgres runs as its own user when the tests run as root: it must enter the folder.
    await chmod(dir, 0o755);
    const modelPath = path.join(dir, 'red.onnx');
    videoFile = path.join(dir, 'squares.mp4');
    await Promise.all([
      writeRedSquareModel(modelPath, { inputSize: INPUT_SIZE }),
      writeRedSquaresVideo(videoFile),
    ]);
    stack = await startStack({
      dataDir: path.join(dir, 'stack'),
      modelPath,
      hostEnv: process.env,
      postgresSettings: { fsync: 'off' },
      env: { LOG_LEVEL: 'warn', MODELS: 'red-square@1', REAPER_FINALIZE_INTERVAL: '500ms' },
      onLog: (service, line) => {
        logs.push(`${service}: ${line}`);
        if (logs.length > 400) logs.shift();
      },
    });
    client = new ApiClient(stack.apiUrl, stack.apiKey);
  }, 120_000);

  afterAll(async () => {
    await stack?.stop();
    await rm(dir, { recursive: true, force: true });
  }, 60_000);

  it('detects every rectangle of every sampled frame, streams progress to 100 % and pages the exact truth', async () => {
    const uploaded = await client.uploadAccepted(videoFile, {
      sampling: `every:${EVERY}`,
      camera: 'e2e-cam',
      recorded_at: '2026-01-02T03:04:05Z',
    });
    expect(uploaded.status).toBe('uploaded');
    expect(uploaded.model).toBe('red-square@1');

    // Progress over SSE until the server says done.
    const events = await client.events(uploaded.id, 90_000);
    const last = events.at(-1);
    expect(last?.event).toBe('done');
    expect(last?.data.status).toBe('completed');
    expect(last?.data.progress).toEqual({
      expected: SAMPLED,
      extracted: SAMPLED,
      detected: SAMPLED,
      failed: 0,
    });
    // Progress never goes backwards.
    const detected = events.map((e) => e.data.progress.detected ?? 0);
    expect(detected).toEqual([...detected].sort((a, b) => a - b));

    const video = await client.video(uploaded.id);
    expect(video.status).toBe('completed');
    expect(video.progress.detected).toBe(SAMPLED);

    // One page with everything, and small pages: the same frames, each once, in order.
    const whole = await client.allDetections(uploaded.id, 1000);
    expect(whole.pages).toBe(1);
    const paged = await client.allDetections(uploaded.id, 3);
    expect(paged.pages).toBe(Math.ceil(SAMPLED / 3));
    expect(paged.items).toEqual(whole.items);
    expect(whole.items.map((f) => f.frame_index)).toEqual(
      Array.from({ length: SAMPLED }, (_, i) => i),
    );

    const problems = whole.items.flatMap((frame) =>
      truthProblems(frame, {
        every: EVERY,
        inputSize: INPUT_SIZE,
        className: RED_SQUARE_MODEL.className,
        score: RED_SQUARE_MODEL.score,
      }),
    );
    expect(problems).toEqual([]);
    // The video has frames with 0, 1, 2 and 3 rectangles: all must be represented.
    const counts = new Set(whole.items.map((f) => f.detections.length));
    expect([...counts].sort()).toEqual([0, 1, 2, 3]);
  });
});
