// `npm run badinput`: a table-driven suite of bad inputs on every channel of a running
// framewise system (HTTP, the frame queue, frame storage, the model file), each with its
// expected answer, each followed by a check that the system still serves. The last stdout line
// is JSON: {"cases", "passed", "failed": [names], …}. Exits 1 when any case fails.
//   BADINPUT_ONLY=<text>  run only the cases whose name contains it (the invariant always runs)
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { RED_SQUARE_MODEL, writeRedSquareModel } from '@framewise/detector';
import { startStack, type Stack } from '@framewise/stack';
import { ApiClient } from '../support/api-client';
import { truthProblems } from '../support/ground-truth-video';
import type { BadInputCase } from './case';
import {
  CaseFailure,
  SUITE_ENV,
  makeContext,
  suiteFrameQueue,
  writeMedia,
  type SuiteContext,
} from './context';
import { HTTP_CASES } from './http-cases';
import { MODEL_CASES, QUEUE_CASES, STORAGE_CASES } from './pipeline-cases';
import { runCases } from './runner';

const INPUT_SIZE = 320;
/** Videos accepted before any bad input, sampled at every frame: 40 frames each. */
const BEFORE_VIDEOS = 3;

export const CASES: readonly BadInputCase[] = [
  ...HTTP_CASES,
  ...QUEUE_CASES,
  ...STORAGE_CASES,
  ...MODEL_CASES,
];

async function main(): Promise<number> {
  const started = Date.now();
  const log = (line: string) => process.stderr.write(`[badinput] ${line}\n`);
  const only = process.env.BADINPUT_ONLY;
  const cases = only === undefined ? CASES : CASES.filter((c) => c.name.includes(only));
  const workDir = await mkdtemp(path.join(os.tmpdir(), 'fw-badinput-'));
  // Postgres runs as its own user when this runs as root: it must enter the folder.
  await chmod(workDir, 0o755);
  let stack: Stack | undefined;
  let redis: Redis | undefined;
  try {
    const modelPath = path.join(workDir, 'red.onnx');
    await writeRedSquareModel(modelPath, { inputSize: INPUT_SIZE });
    const media = await writeMedia(workDir, modelPath);
    log('starting the stack');
    stack = await startStack({
      dataDir: path.join(workDir, 'stack'),
      modelPath,
      hostEnv: process.env,
      env: { ...SUITE_ENV },
      postgresSettings: { fsync: 'off' },
    });
    redis = new Redis(stack.redisUrl, { maxRetriesPerRequest: 3 });
    const client = new ApiClient(stack.apiUrl, stack.apiKey);
    const ctx = makeContext({
      stack,
      client,
      probe: client,
      media,
      redis,
      frames: suiteFrameQueue(stack.keyPrefix),
      modelPath,
      workDir,
    });
    const probe = new ApiClient(stack.apiUrl, await ctx.createKey('probe'));
    const suite: SuiteContext = { ...ctx, probe };
    const before: string[] = [];
    for (let i = 0; i < BEFORE_VIDEOS; i++) {
      const video = await client.uploadAccepted(media.good, { sampling: 'every:1' });
      before.push(video.id);
      suite.accepted.set(video.id, 40);
    }
    log(
      `stack up and ${BEFORE_VIDEOS} videos accepted in ${Date.now() - started} ms; ${cases.length} cases`,
    );

    const results = await runCases(suite, cases, (c) => nothingLost(c, before), log);
    const failed = results.filter((r) => !r.passed);
    const byChannel: Record<string, number> = {};
    for (const r of results) byChannel[r.channel] = (byChannel[r.channel] ?? 0) + 1;
    console.log(
      JSON.stringify({
        cases: results.length,
        passed: results.length - failed.length,
        failed: failed.map((r) => r.name),
        by_channel: byChannel,
        videos_accepted: suite.accepted.size,
        seconds: Math.round((Date.now() - started) / 1000),
      }),
    );
    return failed.length === 0 ? 0 : 1;
  } finally {
    redis?.disconnect();
    await stack?.stop();
    await rm(workDir, { recursive: true, force: true });
  }
}

/** Every accepted video completed with one result per sampled frame; the first ones exactly. */
async function nothingLost(ctx: SuiteContext, before: readonly string[]): Promise<void> {
  const problems: string[] = [];
  for (const [id, frames] of ctx.accepted) {
    const video = await ctx.probe.waitFinal(id, 60_000);
    const { items } = await ctx.probe.allDetections(id, 1000);
    if (video.status !== 'completed') problems.push(`${id}: ${video.status}`);
    if (items.length !== frames) problems.push(`${id}: ${items.length} of ${frames} frames`);
    if (before.includes(id)) {
      for (const frame of items) {
        problems.push(
          ...truthProblems(frame, {
            every: 1,
            inputSize: INPUT_SIZE,
            className: RED_SQUARE_MODEL.className,
            score: RED_SQUARE_MODEL.score,
          }).map((p) => `${id}: ${p}`),
        );
      }
    }
  }
  if (problems.length > 0) throw new CaseFailure(problems.slice(0, 10).join('; '));
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    console.error(error);
    console.log(
      JSON.stringify({ cases: 0, passed: 0, failed: ['suite did not run'], error: String(error) }),
    );
    process.exitCode = 1;
  },
);
