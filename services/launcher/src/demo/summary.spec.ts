import { summarize, summaryTable } from './summary';

test('summarize counts detections, frames, most per frame and best score per class', () => {
  const rows = summarize([
    {
      frame_index: 0,
      detections: [
        { class: 'person', score: 0.5 },
        { class: 'person', score: 0.9 },
        { class: 'car', score: 0.7 },
      ],
    },
    { frame_index: 1, detections: [{ class: 'person', score: 0.6 }] },
    { frame_index: 2, detections: [] },
  ]);
  expect(rows).toEqual([
    { className: 'person', detections: 3, frames: 2, maxPerFrame: 2, bestScore: 0.9 },
    { className: 'car', detections: 1, frames: 1, maxPerFrame: 1, bestScore: 0.7 },
  ]);
  expect(summaryTable(rows, 3).split('\n')).toEqual([
    'class   detections  frames  max/frame  best score',
    '------  ----------  ------  ---------  ----------',
    'person           3     2/3          2        0.90',
    'car              1     1/3          1        0.70',
  ]);
  expect(summaryTable([], 3)).toBe('No objects detected in 3 analysed frame(s).');
});
