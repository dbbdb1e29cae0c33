import { nmsClasswise, YoloDecoder } from './decode';
import type { OutputLayout } from './decode';
import { letterboxGeometry } from './letterbox';

/** A synthetic raw output [N, C, A], filled anchor by anchor. */
function tensor(layout: OutputLayout, batch: number) {
  const { channels, anchors } = layout;
  const data = new Float32Array(batch * channels * anchors);
  return {
    data,
    /** Writes anchor `a` of image `n`: box (cx, cy, w, h), class scores, then extra values. */
    set(n: number, a: number, values: number[]) {
      values.forEach((v, c) => (data[n * channels * anchors + c * anchors + a] = v));
    },
  };
}

const identity = letterboxGeometry(640, 640, 640, 640);
const defaults = { confidence: 0.25, iou: 0.7, maxDetections: 300, maxCandidates: 30_000 };

describe('YoloDecoder (detect)', () => {
  const layout: OutputLayout = { channels: 4 + 3, anchors: 10, numClasses: 3 };
  const names = ['person', 'bus', 'tie'];

  it('keeps the best class per anchor above the threshold, best score first', () => {
    const t = tensor(layout, 1);
    t.set(0, 2, [100, 100, 20, 40, 0.1, 0.6, 0.2]); // bus 0.6
    t.set(0, 7, [300, 200, 50, 50, 0.9, 0.1, 0.0]); // person 0.9
    t.set(0, 4, [500, 500, 10, 10, 0.2, 0.25, 0.1]); // best 0.25: not > 0.25
    const d = new YoloDecoder(layout, names).decode(t.data, 0, identity, defaults);
    expect(d).toEqual([
      {
        class: 'person',
        classId: 0,
        score: expect.closeTo(0.9, 5) as number,
        box: { x1: 275, y1: 175, x2: 325, y2: 225 },
      },
      {
        class: 'bus',
        classId: 1,
        score: expect.closeTo(0.6, 5) as number,
        box: { x1: 90, y1: 80, x2: 110, y2: 120 },
      },
    ]);
  });

  it('takes the first of equal best scores (argmax) and finds a best score in any class row', () => {
    const t = tensor(layout, 1);
    t.set(0, 0, [100, 100, 10, 10, 0.3, 0.5, 0.5]); // tie between bus and tie: bus
    t.set(0, 9, [400, 400, 10, 10, 0.3, 0.4, 0.8]); // last class, last anchor
    t.set(0, 5, [250, 250, 10, 10, 0.6, 0.6, 0.6]); // all equal: person
    const d = new YoloDecoder(layout, names).decode(t.data, 0, identity, defaults);
    expect(d.map((x) => [x.class, Number(x.score.toFixed(2))])).toEqual([
      ['tie', 0.8],
      ['person', 0.6],
      ['bus', 0.5],
    ]);
  });

  it('compares scores with the threshold in float32, as Ultralytics (torch) does', () => {
    const t = tensor(layout, 1);
    t.set(0, 1, [100, 100, 10, 10, 0.3, 0, 0]); // stored as 0.3f, a hair above 0.3
    t.set(0, 2, [200, 200, 10, 10, 0, 0.30001, 0]);
    const d = new YoloDecoder(layout, names).decode(t.data, 0, identity, {
      ...defaults,
      confidence: 0.3,
    });
    expect(d.map((x) => x.class)).toEqual(['bus']);
  });

  it('suppresses overlapping boxes of the same class only', () => {
    const t = tensor(layout, 1);
    t.set(0, 0, [100, 100, 100, 100, 0.9, 0, 0]);
    t.set(0, 1, [105, 100, 100, 100, 0.8, 0, 0]); // IoU 0.90 with anchor 0: suppressed
    t.set(0, 2, [105, 100, 100, 100, 0, 0.7, 0]); // same place, other class: kept
    t.set(0, 3, [160, 100, 100, 100, 0.6, 0, 0]); // IoU 0.25 with anchor 0: kept
    const d = new YoloDecoder(layout, names).decode(t.data, 0, identity, defaults);
    expect(d.map((x) => [x.class, Number(x.score.toFixed(2))])).toEqual([
      ['person', 0.9],
      ['bus', 0.7],
      ['person', 0.6],
    ]);
  });

  it('uses the IoU threshold given per call', () => {
    const t = tensor(layout, 1);
    t.set(0, 0, [100, 100, 100, 100, 0.9, 0, 0]);
    t.set(0, 1, [160, 100, 100, 100, 0.6, 0, 0]); // IoU = 40·100 / (2·10000 − 4000) = 0.25
    const decoder = new YoloDecoder(layout, names);
    expect(decoder.decode(t.data, 0, identity, { ...defaults, iou: 0.3 })).toHaveLength(2);
    expect(decoder.decode(t.data, 0, identity, { ...defaults, iou: 0.2 })).toHaveLength(1);
  });

  it('stops at maxDetections and honours the confidence given per call', () => {
    const t = tensor(layout, 1);
    for (let a = 0; a < 10; a++) t.set(0, a, [a * 60 + 30, 30, 20, 20, 0.3 + a * 0.05, 0, 0]);
    const decoder = new YoloDecoder(layout, names);
    const top3 = decoder.decode(t.data, 0, identity, { ...defaults, maxDetections: 3 });
    expect(top3.map((x) => x.box.x1)).toEqual([560, 500, 440]);
    expect(decoder.decode(t.data, 0, identity, { ...defaults, confidence: 0.62 })).toHaveLength(3);
  });

  it('considers at most maxCandidates, the best ones', () => {
    const t = tensor(layout, 1);
    for (let a = 0; a < 10; a++) t.set(0, a, [a * 60 + 30, 30, 20, 20, 0.3 + a * 0.05, 0, 0]);
    const d = new YoloDecoder(layout, names).decode(t.data, 0, identity, {
      ...defaults,
      maxCandidates: 2,
    });
    expect(d.map((x) => x.box.x1)).toEqual([560, 500]);
  });

  it('reads the right image of a batch', () => {
    const t = tensor(layout, 3);
    t.set(1, 5, [100, 100, 10, 10, 0, 0, 0.8]);
    t.set(2, 5, [200, 200, 10, 10, 0.8, 0, 0]);
    const decoder = new YoloDecoder(layout, names);
    expect(decoder.decode(t.data, 0, identity, defaults)).toEqual([]);
    expect(decoder.decode(t.data, 1, identity, defaults)[0]?.class).toBe('tie');
    expect(decoder.decode(t.data, 2, identity, defaults)[0]?.box.x1).toBe(195);
  });

  it('maps boxes back through the letterbox and clips them to the image', () => {
    const t = tensor(layout, 1);
    // 1280x720 in 640x640: gain 0.5, 140 px of padding top and bottom.
    t.set(0, 0, [320, 320, 100, 100, 0.9, 0, 0]);
    t.set(0, 1, [10, 150, 40, 40, 0, 0.9, 0]); // reaches into the left edge and the top padding
    const g = letterboxGeometry(1280, 720, 640, 640);
    const d = new YoloDecoder(layout, names).decode(t.data, 0, g, defaults);
    expect(d[0]?.box).toEqual({ x1: 540, y1: 260, x2: 740, y2: 460 });
    expect(d[1]?.box).toEqual({ x1: 0, y1: 0, x2: 60, y2: 60 });
  });

  it('names classes without names class_<id>', () => {
    const t = tensor(layout, 1);
    t.set(0, 0, [10, 10, 4, 4, 0, 0, 0.9]);
    expect(new YoloDecoder(layout, []).decode(t.data, 0, identity, defaults)[0]?.class).toBe(
      'class_2',
    );
  });
});

describe('YoloDecoder (pose)', () => {
  it('maps keypoints back with their visibility', () => {
    const layout: OutputLayout = {
      channels: 4 + 1 + 2 * 3,
      anchors: 4,
      numClasses: 1,
      keypoints: { count: 2, dims: 3 },
    };
    const t = tensor(layout, 1);
    t.set(0, 3, [320, 320, 100, 200, 0.8, 300, 250, 0.9, 340, 400, 0.2]);
    const g = letterboxGeometry(1280, 720, 640, 640);
    const [d] = new YoloDecoder(layout, ['person']).decode(t.data, 0, g, defaults);
    expect(d?.keypoints).toEqual([
      { x: 600, y: 220, visibility: expect.closeTo(0.9, 5) as number },
      { x: 680, y: 520, visibility: expect.closeTo(0.2, 5) as number },
    ]);
  });

  it('supports keypoints without visibility (kpt_shape [K, 2])', () => {
    const layout: OutputLayout = {
      channels: 4 + 1 + 2,
      anchors: 2,
      numClasses: 1,
      keypoints: { count: 1, dims: 2 },
    };
    const t = tensor(layout, 1);
    t.set(0, 0, [50, 50, 10, 10, 0.9, 52, 48]);
    const [d] = new YoloDecoder(layout, ['x']).decode(t.data, 0, identity, defaults);
    expect(d?.keypoints).toEqual([{ x: 52, y: 48 }]);
  });
});

describe('nmsClasswise', () => {
  it('keeps disjoint boxes, suppresses duplicates, respects maxKeep', () => {
    const boxes = Float32Array.from([0, 0, 10, 10, 0, 0, 10, 10, 20, 20, 30, 30, 0, 0, 10, 10]);
    const classes = Int32Array.from([0, 0, 0, 1]);
    const keep = new Int32Array(4);
    const scratch = new Uint8Array(4);
    expect(nmsClasswise(boxes, classes, 4, 0.5, 10, keep, scratch)).toBe(3);
    expect(Array.from(keep.subarray(0, 3))).toEqual([0, 2, 3]);
    expect(nmsClasswise(boxes, classes, 4, 0.5, 2, keep, scratch)).toBe(2);
  });

  it('suppresses only above the threshold (IoU exactly at it survives, as torchvision)', () => {
    // Two 10x10 boxes overlapping by half: IoU = 50 / 150 = 1/3.
    const boxes = Float32Array.from([0, 0, 10, 10, 5, 0, 15, 10]);
    const keep = new Int32Array(2);
    expect(nmsClasswise(boxes, new Int32Array(2), 2, 1 / 3, 10, keep, new Uint8Array(2))).toBe(2);
    expect(nmsClasswise(boxes, new Int32Array(2), 2, 0.33, 10, keep, new Uint8Array(2))).toBe(1);
  });
});
