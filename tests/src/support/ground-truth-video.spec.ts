import { letterboxGeometry } from '@framewise/detector';
import { parseSseMessage } from './api-client';
import {
  RED_SQUARES_VIDEO,
  drawnBoxes,
  filterGraph,
  iou,
  matchBoxes,
  roundTripBox,
} from './ground-truth-video';

describe('the ground-truth video', () => {
  it('has frames with 0, 1, 2 and 3 rectangles, none touching', () => {
    const counts = new Set<number>();
    for (let n = 0; n < RED_SQUARES_VIDEO.frames; n++) {
      const boxes = drawnBoxes(RED_SQUARES_VIDEO, n);
      counts.add(boxes.length);
      for (const [i, a] of boxes.entries()) {
        expect(a.x2 <= RED_SQUARES_VIDEO.width && a.y2 <= RED_SQUARES_VIDEO.height).toBe(true);
        for (const b of boxes.slice(i + 1)) {
          // At least one pixel apart, or the model would merge them.
          const apart = a.x2 < b.x1 || b.x2 < a.x1 || a.y2 < b.y1 || b.y2 < a.y1;
          expect(apart).toBe(true);
        }
      }
    }
    expect([...counts].sort()).toEqual([0, 1, 2, 3]);
  });

  it('draws each rectangle with a per-frame overlay, shown only in its frame range', () => {
    expect(filterGraph(RED_SQUARES_VIDEO)).toContain(
      '[v0][r0]overlay=x=24+100*t+0.5:y=40+0*t+0.5:enable=between(n\\,0\\,29)[v1]',
    );
    expect(drawnBoxes(RED_SQUARES_VIDEO, 3)[0]).toEqual({ x1: 54, y1: 40, x2: 102, y2: 88 });
  });
});

describe('the letterbox round trip', () => {
  it('predicts the input-pixel edges the model reports, mapped back (gain 2/3, padded top)', () => {
    const geometry = letterboxGeometry(480, 270, 320, 320);
    expect(geometry).toMatchObject({ resizedWidth: 320, resizedHeight: 180, top: 70, left: 0 });
    // x: 24·2/3 = 16 → edge 16 → 24; y: 40·2/3 + 70 = 96.67 → first pixel centre inside is 97 → 40.5.
    expect(roundTripBox({ x1: 24, y1: 40, x2: 72, y2: 88 }, geometry)).toEqual({
      x1: 24,
      y1: 40.5,
      x2: 72,
      y2: 88.5,
    });
  });

  it('is the identity at gain 1 on whole pixels', () => {
    const geometry = letterboxGeometry(320, 320, 320, 320);
    const box = { x1: 10, y1: 20, x2: 50, y2: 60 };
    expect(roundTripBox(box, geometry)).toEqual(box);
  });
});

describe('box matching', () => {
  const a = { x1: 0, y1: 0, x2: 10, y2: 10 };
  it('computes IoU', () => {
    expect(iou(a, a)).toBe(1);
    expect(iou(a, { x1: 20, y1: 20, x2: 30, y2: 30 })).toBe(0);
    expect(iou(a, { x1: 5, y1: 0, x2: 15, y2: 10 })).toBeCloseTo(50 / 150);
  });

  it('pairs each expected box with its best detection once, and counts the extra ones', () => {
    const b = { x1: 100, y1: 0, x2: 110, y2: 10 };
    expect(matchBoxes([a, b], [b, a, a])).toEqual({ ious: [1, 1], unmatched: 1 });
    expect(matchBoxes([a, a], [a])).toEqual({ ious: [1, 0], unmatched: 0 });
  });
});

describe('SSE messages', () => {
  it('reads event and data lines, and ignores comments', () => {
    expect(parseSseMessage('event: done\ndata: {"id":"x","status":"completed"}')).toEqual({
      event: 'done',
      data: { id: 'x', status: 'completed' },
    });
    expect(parseSseMessage(': keep-alive')).toBeUndefined();
  });
});
