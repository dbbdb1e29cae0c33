// A whole stack from local binaries: upload a lavfi video over HTTP, see it completed with the
// red-square model's exact detections, then stop and start again on the same data directory.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { RED_SQUARE_MODEL, writeRedSquareModel } from '@framewise/detector';
import type { Stack } from './stack';
import { startStack } from './stack';

jest.setTimeout(240_000);

let dir: string;
let modelPath: string;
let videoPath: string;
let stack: Stack | undefined;

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'framewise-stack-'));
  // As root, Postgres runs as the postgres user and must be able to enter the directory.
  fs.chmodSync(dir, 0o755);
  modelPath = await writeRedSquareModel(path.join(dir, 'red-square.onnx'));
  videoPath = path.join(dir, 'square.mp4');
  // 2 s at 10 fps, a red square on gray in every frame.
  const out = spawnSync(
    'ffmpeg',
    // prettier-ignore
    ['-hide_banner', '-v', 'error', '-y', '-f', 'lavfi',
     '-i', 'color=c=gray:s=320x240:r=10:d=2,drawbox=x=100:y=60:w=80:h=80:color=red@1:t=fill',
     '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', videoPath],
    { encoding: 'utf8' },
  );
  if (out.status !== 0) throw new Error(`ffmpeg failed: ${out.stderr}`);
});

afterAll(async () => {
  await stack?.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

function start(): Promise<Stack> {
  return startStack({
    dataDir: path.join(dir, 'data'),
    modelPath,
    workers: 1,
    hostEnv: process.env,
    env: { LOG_LEVEL: 'warn', REAPER_FINALIZE_INTERVAL: '200ms' },
    postgresSettings: { fsync: 'off' },
  });
}

interface VideoBody {
  id: string;
  status: string;
  progress: { expected: number | null; detected: number | null };
}

async function api<T>(s: Stack, route: string, init: RequestInit = {}): Promise<T> {
  const response = await fetch(`${s.apiUrl}${route}`, {
    ...init,
    headers: { authorization: `Bearer ${s.apiKey}` },
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`${route}: ${response.status} ${text}`);
  return JSON.parse(text) as T;
}

async function waitForStatus(s: Stack, id: string, timeoutMs: number): Promise<VideoBody> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const video = await api<VideoBody>(s, `/v1/videos/${id}`);
    if (['completed', 'completed_with_errors', 'failed', 'canceled'].includes(video.status)) {
      return video;
    }
    if (Date.now() > deadline) throw new Error(`still ${video.status}: ${JSON.stringify(video)}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

let videoId: string;
let firstKey: string;

test('runs every service as its own process and detects the red square in an uploaded video', async () => {
  stack = await start();
  const s = stack;
  expect(s.processes().map((p) => p.name)).toEqual(
    expect.arrayContaining(['api-1', 'extractor-1', 'worker-1', 'reaper-1']),
  );
  expect(new Set(s.processes().map((p) => p.pid)).size).toBe(4);
  for (const p of s.processes()) {
    const metrics = await fetch(`${p.opsUrl}/metrics`);
    expect(metrics.status).toBe(200);
  }
  // Unauthenticated requests are refused: the key is real.
  expect((await fetch(`${s.apiUrl}/v1/videos`)).status).toBe(401);

  const form = new FormData();
  form.set('file', new Blob([fs.readFileSync(videoPath)], { type: 'video/mp4' }), 'square.mp4');
  form.set('sampling', 'fps:5');
  const created = await api<VideoBody>(s, '/v1/videos', { method: 'POST', body: form });
  videoId = created.id;
  firstKey = s.apiKey;

  const done = await waitForStatus(s, videoId, 120_000);
  expect(done.status).toBe('completed');
  expect(done.progress.expected).toBe(10);
  expect(done.progress.detected).toBe(10);

  const frames = await api<{ items: { frame_index: number; detections: { class: string }[] }[] }>(
    s,
    `/v1/videos/${videoId}/detections?limit=1000`,
  );
  expect(frames.items.map((f) => f.frame_index).sort((a, b) => a - b)).toEqual([
    0, 1, 2, 3, 4, 5, 6, 7, 8, 9,
  ]);
  for (const frame of frames.items) {
    expect(frame.detections.map((d) => d.class)).toEqual([RED_SQUARE_MODEL.className]);
  }
});

test('a second start on the same data directory keeps the videos and the API key', async () => {
  const s = stack;
  if (!s) throw new Error('the first test did not start a stack');
  await s.stop();
  stack = undefined;
  // Every process is gone after stop().
  expect(fs.existsSync(path.join(dir, 'data', 'stack.json'))).toBe(false);

  stack = await start();
  expect(stack.apiKey).toBe(firstKey);
  const video = await api<VideoBody>(stack, `/v1/videos/${videoId}`);
  expect(video.status).toBe('completed');
  expect(video.progress.detected).toBe(10);
});
