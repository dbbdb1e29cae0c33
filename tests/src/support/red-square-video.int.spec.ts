import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { OnnxYoloDetector, writeRedSquareModel } from '@framewise/detector';
import { ffprobeSampledFrames, laneSquares, writeRedSquareVideo } from './red-square-video';

const run = promisify(execFile);
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'fw-red-square-video-'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

it('counts the frames each sampling yields as ffmpeg itself produces them', async () => {
  const file = path.join(dir, 'count.mp4');
  const shape = { width: 320, height: 180, durationS: 3 };
  await writeRedSquareVideo(file, { ...shape, fps: 15, squares: laneSquares(1, shape) });
  expect(await ffprobeSampledFrames(file, 'all')).toBe(45);
  expect(await ffprobeSampledFrames(file, 'every:2')).toBe(23);
  expect(await ffprobeSampledFrames(file, 'fps:10')).toBe(30);
  // ffmpeg's own output for the fps filter agrees.
  const { stdout } = await run('ffmpeg', [
    ...['-v', 'error', '-i', file, '-vf', 'fps=10', '-f', 'framemd5', '-'],
  ]);
  expect(stdout.split('\n').filter((l) => l !== '' && !l.startsWith('#'))).toHaveLength(30);
});

it('draws squares that move and that the red-square model finds, one box each', async () => {
  const file = path.join(dir, 'moving.mp4');
  const shape = { width: 1280, height: 720, durationS: 4 };
  const squares = laneSquares(3, shape);
  await writeRedSquareVideo(file, { ...shape, fps: 10, squares });
  const model = path.join(dir, 'red.onnx');
  await writeRedSquareModel(model, { inputSize: 320 });
  const detector = await OnnxYoloDetector.load({ model: { path: model }, intraOpThreads: 1 });
  try {
    const lefts: number[] = [];
    for (const frame of [0, 30]) {
      const jpeg = path.join(dir, `f${frame}.jpg`);
      await run('ffmpeg', [
        ...['-v', 'error', '-i', file, '-vf', `select=eq(n\\,${frame})`],
        ...['-frames:v', '1', '-update', '1', jpeg],
      ]);
      const found = await detector.detect(await readFile(jpeg));
      expect(found).toHaveLength(3);
      expect(found.every((d) => d.class === 'red_square')).toBe(true);
      lefts.push(Math.min(...found.map((d) => d.box.x1)));
    }
    // 3 s later the squares are 3·vx pixels further right (within the letterbox's rounding).
    const [first, later] = lefts as [number, number];
    expect(Math.abs(later - first - 3 * (squares[0]?.vx ?? 0))).toBeLessThanOrEqual(8);
  } finally {
    await detector.close();
  }
});
