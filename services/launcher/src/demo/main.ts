// `npm run demo [-- video.mp4] [--sampling fps:2]`: uploads a video to the running framewise
// (a generated sample when none is given), follows it with a progress bar, prints what it found.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfig, text, z } from '@framewise/config';
import { DemoClient, findApi } from './client';
import { FINAL, progressBar, progressLine } from './progress';
import type { VideoView } from './progress';
import { writeSampleVideo } from './sample-video';
import { summarize, summaryTable } from './summary';

const ROOT = path.resolve(__dirname, '../../../..');

const demoConfigSchema = z.object({
  FRAMEWISE_API_URL: text().optional(),
  FRAMEWISE_API_KEY: text().optional(),
  FRAMEWISE_DATA_DIR: text().optional(),
  FFMPEG_PATH: text().optional(),
});

async function main(): Promise<number> {
  const config = loadConfig(demoConfigSchema, process.env, { service: 'demo' });
  const { values, positionals } = parseArgs({
    args: process.argv.slice(2),
    allowPositionals: true,
    options: { sampling: { type: 'string' }, timeout: { type: 'string', default: '600' } },
  });
  const dataDir = path.resolve(config.FRAMEWISE_DATA_DIR ?? path.join(ROOT, '.framewise'));
  const target = findApi(
    { apiUrl: config.FRAMEWISE_API_URL, apiKey: config.FRAMEWISE_API_KEY },
    dataDir,
  );
  if (target === undefined) {
    console.error(
      `No running framewise found (no ${path.join(dataDir, 'launcher.json')}).\nStart it in another terminal with \`npm start\` (or set FRAMEWISE_API_URL and FRAMEWISE_API_KEY), then run \`npm run demo\` again.`,
    );
    return 1;
  }

  let file = positionals[0];
  if (file === undefined) {
    file = path.join(os.tmpdir(), `framewise-demo-${process.pid}.mp4`);
    console.log(
      'No video given: generating a 6 s sample with ffmpeg (two red rectangles on gray).',
    );
    await writeSampleVideo(file, config.FFMPEG_PATH);
  } else if (!fs.existsSync(file)) {
    console.error(`No such video: ${file}`);
    return 1;
  }

  const client = new DemoClient(target);
  const uploadStarted = Date.now();
  const created = await client.upload(file, values.sampling);
  if (positionals[0] === undefined) fs.rmSync(file, { force: true });
  console.log(`Uploaded ${path.basename(file)} to ${target.apiUrl} as video ${created.id}.`);

  const video = await follow(client, created.id, Number(values.timeout) * 1000);
  const seconds = ((Date.now() - uploadStarted) / 1000).toFixed(1);
  console.log(`\nVideo ${video.id}: ${video.status} after ${seconds} s.`);
  if (video.status !== 'completed' && video.status !== 'completed_with_errors') {
    console.error(`It did not complete: ${JSON.stringify(video.error)}`);
    return 1;
  }
  const frames = await client.allDetections(video.id);
  console.log(`\n${summaryTable(summarize(frames), video.progress.expected ?? frames.length)}\n`);
  const auth = `-H 'Authorization: Bearer ${target.apiKey}'`;
  console.log(`Detections:  curl -sS ${auth} '${target.apiUrl}/v1/videos/${video.id}/detections'`);
  console.log(
    `A frame:     curl -sS ${auth} -o frame.jpg '${target.apiUrl}/v1/videos/${video.id}/frames/0?overlay=1'`,
  );
  return 0;
}

/** Polls the video until it is final, drawing a progress bar on a terminal. */
async function follow(client: DemoClient, id: string, timeoutMs: number): Promise<VideoView> {
  const tty = process.stdout.isTTY;
  const deadline = Date.now() + timeoutMs;
  let lastLine = '';
  for (;;) {
    const video = await client.video(id);
    if (tty) {
      process.stdout.write(`\r${progressBar(video, process.stdout.columns)}\x1b[K`);
    } else {
      const line = progressLine(video);
      if (line !== lastLine) console.log(line);
      lastLine = line;
    }
    if (FINAL.includes(video.status)) {
      if (tty) process.stdout.write('\n');
      return video;
    }
    if (Date.now() > deadline) {
      throw new Error(`video ${id} is still ${video.status} after ${timeoutMs / 1000} s`);
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

main().then(
  (code) => {
    process.exit(code);
  },
  (error: unknown) => {
    console.error(`demo failed: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  },
);
