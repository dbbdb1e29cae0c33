// The crash controls the chaos suites use: SIGKILL and restart a service under the same name,
// spawn one more, SIGKILL Redis and Postgres and bring them back on the same URLs; the system
// still completes a video afterwards.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { writeRedSquareModel } from '@framewise/detector';
import type { Stack } from './stack';
import { startStack } from './stack';

jest.setTimeout(240_000);

let dir: string;
let video: Buffer;
let stack: Stack | undefined;

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'framewise-stack-crash-'));
  fs.chmodSync(dir, 0o755);
  const file = path.join(dir, 'square.mp4');
  const out = spawnSync(
    'ffmpeg',
    // prettier-ignore
    ['-hide_banner', '-v', 'error', '-y', '-f', 'lavfi',
     '-i', 'color=c=gray:s=320x240:r=10:d=1,drawbox=x=100:y=60:w=80:h=80:color=red@1:t=fill',
     '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', file],
    { encoding: 'utf8' },
  );
  if (out.status !== 0) throw new Error(`ffmpeg failed: ${out.stderr}`);
  video = fs.readFileSync(file);
  stack = await startStack({
    dataDir: path.join(dir, 'data'),
    modelPath: await writeRedSquareModel(path.join(dir, 'red-square.onnx')),
    hostEnv: process.env,
    redisAppendFsync: 'always',
    env: { LOG_LEVEL: 'warn', REAPER_FINALIZE_INTERVAL: '200ms' },
    postgresSettings: { fsync: 'off' },
  });
});

afterAll(async () => {
  await stack?.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function uploadAndWait(s: Stack): Promise<string> {
  const form = new FormData();
  form.set('file', new Blob([video], { type: 'video/mp4' }), 'square.mp4');
  const auth = { authorization: `Bearer ${s.apiKey}` };
  const created = await fetch(`${s.apiUrl}/v1/videos`, {
    method: 'POST',
    body: form,
    headers: auth,
  });
  expect(created.status).toBe(202);
  const { id } = (await created.json()) as { id: string };
  const deadline = Date.now() + 120_000;
  for (;;) {
    const response = await fetch(`${s.apiUrl}/v1/videos/${id}`, { headers: auth });
    const body = (await response.json()) as { status: string };
    if (['completed', 'completed_with_errors', 'failed', 'canceled'].includes(body.status)) {
      return body.status;
    }
    if (Date.now() > deadline) throw new Error(`video ${id} still ${body.status}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

test('kill() and restart() a worker; spawn() another; both serve /readyz', async () => {
  const s = stack!;
  const [worker] = s.processes('worker');
  if (!worker) throw new Error('no worker');
  await worker.kill();
  expect(alive(worker.pid)).toBe(false);
  expect(await worker.exited).toBeNull(); // killed by a signal

  const again = await worker.restart();
  expect(again.name).toBe('worker-1');
  expect(again.pid).not.toBe(worker.pid);
  expect(again.opsUrl).toBe(worker.opsUrl);
  expect(s.processes('worker')).toEqual([again]);

  const second = await s.spawn('worker');
  expect(second.name).toBe('worker-2');
  expect(s.processes('worker').map((p) => p.name)).toEqual(['worker-1', 'worker-2']);
  for (const p of s.processes('worker')) {
    expect((await fetch(`${p.opsUrl}/readyz`)).status).toBe(200);
  }
  expect(await uploadAndWait(s)).toBe('completed');
});

test('Redis and Postgres come back on the same URLs after a SIGKILL', async () => {
  const s = stack!;
  await s.redis.kill();
  await s.postgres.kill();
  await s.redis.start();
  await s.postgres.restart(); // kill() twice is harmless
  expect(await uploadAndWait(s)).toBe('completed');
});

test('terminate() sends SIGTERM and resolves with the exit code', async () => {
  const s = stack!;
  const [reaper] = s.processes('reaper');
  if (!reaper) throw new Error('no reaper');
  expect(await reaper.terminate()).toBe(0);
  expect(alive(reaper.pid)).toBe(false);
});
