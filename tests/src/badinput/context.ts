// What every bad-input case works with: a running stack, API clients, the test media, a
// Redis connection to the queues, and the checks that the system still serves afterwards.
import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Redis } from 'ioredis';
import { frameQueue } from '@framewise/contracts';
import type { FrameJob } from '@framewise/contracts';
import type { QueueDefinition } from '@framewise/queue';
import { QueueAdmin } from '@framewise/queue';
import type { Stack } from '@framewise/stack';
import type { ApiClient } from '../support/api-client';
import { type ApiResponse, type ApiVideo } from '../support/api-client';
import { RED_SQUARES_VIDEO, writeRedSquaresVideo } from '../support/ground-truth-video';
import type { RawResponse } from '../support/raw-http';

/** Where the repository is (services are started from their sources). */
export const ROOT = path.resolve(__dirname, '../../..');

/** Settings the suite's stack runs with (the cases rely on them). */
export const SUITE_ENV = {
  LOG_LEVEL: 'warn',
  MODELS: 'red-square@1',
  /** Small, so the over-the-limit case sends little. */
  UPLOAD_MAX_BYTES: String(8 * 1024 * 1024),
  /** Short, so the stalled-upload case is cut quickly (but not so short that a loaded machine trips it). */
  UPLOAD_IDLE_TIMEOUT: '5s',
  RATE_LIMIT_PER_MINUTE: '600',
  REAPER_FINALIZE_INTERVAL: '200ms',
  /** A frame failing reaches the dead-letter list quickly. */
  QUEUE_MAX_DELIVERIES: '3',
  WORKER_HEARTBEAT_TTL: '3s',
} as const;

export const UPLOAD_MAX_BYTES = Number(SUITE_ENV.UPLOAD_MAX_BYTES);
export const UPLOAD_IDLE_TIMEOUT_MS = 5000;
export const RATE_LIMIT_PER_MINUTE = Number(SUITE_ENV.RATE_LIMIT_PER_MINUTE);

/** The media the cases upload, written once at start. */
export interface Media {
  /** The ground-truth video (40 frames, see ground-truth-video.ts). */
  readonly good: string;
  readonly empty: string;
  readonly text: string;
  readonly png: string;
  readonly pngAsMp4: string;
  readonly audioOnly: string;
  /** The first half of `good`: its index (at the end) is missing. */
  readonly truncated: string;
  /** Bytes that are no ONNX model. */
  readonly garbageModel: string;
  /** The red-square model cut in half. */
  readonly truncatedModel: string;
}

export interface SuiteContext {
  readonly stack: Stack;
  /** The stack's key: used by the bad inputs. */
  readonly client: ApiClient;
  /** A second key: used by the after-each checks, so the rate limit of one never hits the other. */
  readonly probe: ApiClient;
  readonly media: Media;
  readonly redis: Redis;
  readonly frames: QueueDefinition<FrameJob>;
  readonly framesAdmin: QueueAdmin<FrameJob>;
  readonly modelPath: string;
  readonly workDir: string;
  /** Videos the suite expects to complete, with their frame counts (checked at the end). */
  readonly accepted: Map<string, number>;
  /** Creates one more API key with the ingestion service's `keys` command. */
  createKey(name: string): Promise<string>;
  /** Runs a service entry with the stack's environment plus `env`; resolves on its exit. */
  runEntry(
    entry: string,
    tsconfig: string,
    env: Record<string, string>,
    args?: readonly string[],
    timeoutMs?: number,
  ): Promise<{ code: number | null; output: string; timedOut: boolean }>;
}

/** Writes every test file into `dir`. */
export async function writeMedia(dir: string, modelPath: string): Promise<Media> {
  const file = (name: string) => path.join(dir, name);
  const media: Media = {
    good: file('good.mp4'),
    empty: file('empty.mp4'),
    text: file('notes.mp4'),
    png: file('picture.png'),
    pngAsMp4: file('picture.mp4'),
    audioOnly: file('sound.mp4'),
    truncated: file('truncated.mp4'),
    garbageModel: file('garbage.onnx'),
    truncatedModel: file('truncated.onnx'),
  };
  await writeRedSquaresVideo(media.good);
  await writeFile(media.empty, '');
  await writeFile(media.text, 'this is a text file, not a video\n'.repeat(40));
  await ffmpeg(['-f', 'lavfi', '-i', 'color=c=red:s=64x48', '-frames:v', '1', media.png]);
  await writeFile(media.pngAsMp4, await readFile(media.png));
  await ffmpeg([
    '-f',
    'lavfi',
    '-i',
    'sine=frequency=440:duration=1',
    '-c:a',
    'aac',
    media.audioOnly,
  ]);
  const good = await readFile(media.good);
  await writeFile(media.truncated, good.subarray(0, Math.floor(good.length / 2)));
  await writeFile(media.garbageModel, Buffer.alloc(4096, 0x5a));
  const model = await readFile(modelPath);
  await writeFile(media.truncatedModel, model.subarray(0, Math.floor(model.length / 2)));
  return media;
}

/** The suite's frame queue as the services define it. */
export function suiteFrameQueue(keyPrefix: string): QueueDefinition<FrameJob> {
  return frameQueue({
    keyPrefix,
    maxDeliveries: Number(SUITE_ENV.QUEUE_MAX_DELIVERIES),
  });
}

/** Builds the context's helpers around a started stack. */
export function makeContext(
  parts: Omit<SuiteContext, 'createKey' | 'runEntry' | 'framesAdmin' | 'accepted'>,
): SuiteContext {
  const runEntry: SuiteContext['runEntry'] = (
    entry,
    tsconfig,
    env,
    args = [],
    timeoutMs = 60_000,
  ) =>
    new Promise((resolve, reject) => {
      const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, entry), ...args], {
        cwd: ROOT,
        env: {
          ...parts.stack.serviceEnv,
          TSX_TSCONFIG_PATH: path.join(ROOT, tsconfig),
          ...env,
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let output = '';
      const keep = (chunk: Buffer) => {
        output = (output + chunk.toString()).slice(-20_000);
      };
      child.stdout.on('data', keep);
      child.stderr.on('data', keep);
      let timedOut = false;
      const timer = setTimeout(() => {
        timedOut = true;
        child.kill('SIGKILL');
      }, timeoutMs);
      child.once('error', reject);
      child.once('exit', (code) => {
        clearTimeout(timer);
        resolve({ code, output, timedOut });
      });
    });
  return {
    ...parts,
    framesAdmin: new QueueAdmin(parts.frames, parts.redis),
    accepted: new Map(),
    runEntry,
    createKey: async (name) => {
      const { code, output } = await runEntry(
        'services/ingestion/src/keys/main.ts',
        'services/ingestion/tsconfig.json',
        {},
        ['create', name],
      );
      if (code !== 0) throw new Error(`keys create ${name} exited ${code}: ${output}`);
      const line = output.trim().split('\n').pop() ?? '';
      return (JSON.parse(line) as { key: string }).key;
    },
  };
}

/** A case's answer was not what it had to be. */
export class CaseFailure extends Error {}

/** Asserts a problem+json answer with this status and (when given) stable `code`. */
export function expectProblem(
  response: ApiResponse | RawResponse,
  status: number,
  code?: string,
): void {
  const body = response.json as { code?: unknown; errorId?: unknown } | undefined;
  const contentType =
    response.headers instanceof Headers
      ? response.headers.get('content-type')
      : response.headers['content-type'];
  const problems: string[] = [];
  if (response.status !== status) problems.push(`status ${response.status}, expected ${status}`);
  if (code !== undefined) {
    if (!contentType?.startsWith('application/problem+json')) {
      problems.push(`content-type ${String(contentType)}, expected application/problem+json`);
    }
    if (body?.code !== code) problems.push(`code ${String(body?.code)}, expected ${code}`);
    if (typeof body?.errorId !== 'string') problems.push('no errorId');
  }
  if (problems.length > 0) {
    throw new CaseFailure(`${problems.join('; ')}; body: ${response.text.slice(0, 300)}`);
  }
}

export function check(condition: boolean, message: string): void {
  if (!condition) throw new CaseFailure(message);
}

/**
 * The system still serves: the API's and every process's health endpoints answer, no process
 * exited, and a good upload completes with all its frames detected.
 */
export async function checkServing(ctx: SuiteContext, label: string): Promise<void> {
  for (const proc of ctx.stack.processes()) {
    const exited = await Promise.race([
      proc.exited.then(() => true),
      new Promise<false>((resolve) =>
        setImmediate(() => {
          resolve(false);
        }),
      ),
    ]);
    check(!exited, `${proc.name} exited: ${proc.recentOutput().slice(-500)}`);
    for (const endpoint of ['healthz', 'readyz']) {
      const response = await fetch(`${proc.opsUrl}/${endpoint}`);
      await response.body?.cancel();
      check(response.status === 200, `${proc.name} /${endpoint} answered ${response.status}`);
    }
  }
  const frames = await uploadAndComplete(ctx.probe, ctx.media.good, `every:${PROBE_EVERY}`);
  ctx.accepted.set(frames.video.id, PROBE_FRAMES);
  check(
    frames.video.status === 'completed',
    `probe upload after ${label} ended ${frames.video.status}: ${JSON.stringify(frames.video.progress)}`,
  );
}

/** The probe upload samples every 10th frame of the 40-frame video: 4 frames. */
export const PROBE_EVERY = 10;
export const PROBE_FRAMES = Math.ceil(RED_SQUARES_VIDEO.frames / PROBE_EVERY);

/** Uploads, follows the SSE stream to its end, returns the final video. */
export async function uploadAndComplete(
  client: ApiClient,
  file: string,
  sampling: string,
  timeoutMs = 60_000,
): Promise<{ video: ApiVideo }> {
  const uploaded = await client.uploadAccepted(file, { sampling });
  await client.events(uploaded.id, timeoutMs);
  return { video: await client.video(uploaded.id) };
}

function ffmpeg(args: readonly string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-y', ...args], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.once('error', reject);
    child.once('exit', (code) => {
      if (code === 0) resolve();
      else reject(new Error(`ffmpeg ${args.join(' ')} exited ${code}: ${stderr}`));
    });
  });
}
