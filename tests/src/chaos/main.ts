// `npm run chaos` (full: both AOF fsync modes) and `npm run chaos:short` (CI): runs framewise
// as separate processes while a fault injector kills processes and servers, then checks from
// Postgres that nothing was lost or duplicated. Progress goes to stderr; the last stdout line
// is the JSON report; the exit code is 1 when any run failed its checks, 2 on bad usage.
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { startStack } from '@framewise/stack';
import type { ChaosOptions } from './options';
import { USAGE, parseChaosArgs } from './options';
import type { RunReport, SystemFactory } from './run';
import { prepareVideos, runChaos } from './run';
import type { FaultKind } from './schedule';
import { FAULT_KINDS } from './schedule';

function log(line: string): void {
  process.stderr.write(`chaos: ${line}\n`);
}

const startSystem: SystemFactory = ({ dataDir, modelPath, fsync, env, onLog }) =>
  startStack({
    dataDir,
    modelPath,
    workers: 4,
    extractors: 2,
    reapers: 2,
    redisAppendFsync: fsync,
    hostEnv: process.env,
    env,
    onLog,
    apiPort: 0,
  });

/** The last stdout line: totals over the runs, each run in `runs`. */
function summary(options: ChaosOptions, runs: readonly RunReport[], elapsedS: number) {
  const faults = Object.fromEntries(
    FAULT_KINDS.map((k) => [k, runs.reduce((n, r) => n + r.faults[k], 0)]),
  ) as Record<FaultKind, number>;
  const sum = (pick: (r: RunReport) => number) => runs.reduce((n, r) => n + pick(r), 0);
  const drains = runs.map((r) => r.drain_seconds);
  return {
    suite: 'chaos',
    mode: options.mode,
    seed: options.seed,
    ok: runs.every((r) => r.ok),
    faults,
    faults_total: Object.values(faults).reduce((a, b) => a + b, 0),
    videos: sum((r) => r.videos),
    frames_expected: sum((r) => r.frames_expected),
    results: sum((r) => r.results),
    failures: sum((r) => r.failures),
    lost: sum((r) => r.lost),
    duplicated: sum((r) => r.duplicated),
    drain_seconds: drains.includes(null) ? null : Math.max(...(drains as number[])),
    /** Each run's answer to the run's API key after the drain (200 expected). */
    api_status_after: runs.map((r) => r.api_status_after),
    elapsed_seconds: elapsedS,
    runs,
  };
}

async function main(): Promise<number> {
  let options: ChaosOptions | 'help';
  try {
    options = parseChaosArgs(process.argv.slice(2), Date.now() % 2 ** 32);
  } catch (error) {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n${USAGE}\n`);
    return 2;
  }
  if (options === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const started = performance.now();
  const videoDir = await mkdtemp(path.join(os.tmpdir(), 'framewise-chaos-videos-'));
  const runs: RunReport[] = [];
  try {
    log(`writing ${options.videos} test videos (ffmpeg lavfi) and counting their frames (ffprobe)`);
    const videos = await prepareVideos(videoDir, options.videos, options.videoSeconds);
    log(`${videos.length} videos, ${videos.reduce((n, v) => n + v.frames, 0)} frames by ffprobe`);
    for (const fsync of options.fsyncs) {
      const report = await runChaos(options, videos, fsync, startSystem, log);
      log(
        `run fsync=${fsync}: ${report.ok ? 'PASSED' : 'FAILED'}: lost ${report.lost}, ` +
          `duplicated ${report.duplicated}, wrong ${report.wrong_results}, ` +
          `unfinished ${report.videos_unfinished.length}, queued ${report.queue_jobs_left}, ` +
          `API key answer ${report.api_status_after}`,
      );
      runs.push(report);
    }
  } finally {
    await rm(videoDir, { recursive: true, force: true });
  }
  const result = summary(options, runs, Math.round((performance.now() - started) / 1000));
  process.stdout.write(`${JSON.stringify(result)}\n`);
  return result.ok ? 0 : 1;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(
      `chaos: crashed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exitCode = 1;
  },
);
