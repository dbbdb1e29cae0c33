import type { VideoView } from './progress';
import { fractionDone, progressBar, progressLine } from './progress';

const video = (status: string, progress: Partial<VideoView['progress']>): VideoView => ({
  id: 'v',
  status,
  error: null,
  progress: { expected: 20, extracted: 20, detected: 0, failed: 0, ...progress },
});

test('progress counts detected and failed frames of the expected ones; final is 100%', () => {
  expect(fractionDone(video('detecting', { detected: 5, failed: 5 }))).toBe(0.5);
  expect(fractionDone(video('extracting', { expected: null, extracted: 3 }))).toBe(0);
  expect(fractionDone(video('completed_with_errors', { detected: 1 }))).toBe(1);
});

test('the bar fits the terminal and says where the video is', () => {
  const bar = progressBar(video('detecting', { detected: 10 }), 60);
  expect(bar).toBe(`[${'#'.repeat(9)}${'·'.repeat(9)}]  50%  detecting  10/20 frames detected`);
  expect(bar.length).toBeLessThanOrEqual(60);
  expect(progressBar(video('extracting', { expected: null, extracted: 7 }), 200)).toContain(
    '0%  extracting  7 frames extracted',
  );
  expect(progressLine(video('detecting', { detected: 4 }))).toBe(
    'detecting: 20 extracted, 4 detected of 20 frames',
  );
});
