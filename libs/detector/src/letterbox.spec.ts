import {
  letterboxGeometry,
  pyRound,
  scaledToSource,
  unletterboxX,
  unletterboxY,
} from './letterbox';

describe('pyRound (Python 3 round: halves to even)', () => {
  it.each([
    [0.5, 0],
    [1.5, 2],
    [2.5, 2],
    [426.5, 426],
    [2.4999, 2],
    [2.5001, 3],
    [-0.5, 0],
    [-1.5, -2],
  ])('round(%p) = %p', (value, expected) => {
    expect(pyRound(value)).toBe(expected);
  });
});

describe('letterboxGeometry, against hand-computed Ultralytics values', () => {
  it('portrait 810x1080 into 640x640: scaled by height, padded left and right', () => {
    // gain = min(640/1080, 640/810) = 0.592…; 810·gain = 480; dw = 80 each side.
    expect(letterboxGeometry(810, 1080, 640, 640)).toEqual({
      srcWidth: 810,
      srcHeight: 1080,
      dstWidth: 640,
      dstHeight: 640,
      gain: 640 / 1080,
      resizedWidth: 480,
      resizedHeight: 640,
      top: 0,
      bottom: 0,
      left: 80,
      right: 80,
    });
  });

  it('landscape 1280x720 into 640x640: 640x360, 140 px top and bottom', () => {
    const g = letterboxGeometry(1280, 720, 640, 640);
    expect([g.gain, g.resizedWidth, g.resizedHeight, g.top, g.bottom, g.left, g.right]).toEqual([
      0.5, 640, 360, 140, 140, 0, 0,
    ]);
  });

  it('odd padding: the extra pixel goes to the bottom (300x199 into 640)', () => {
    // gain = 640/300 = 2.1333; 199·gain = 424.53 → 425; dh = 107.5 → top 107, bottom 108.
    const g = letterboxGeometry(300, 199, 640, 640);
    expect([g.resizedWidth, g.resizedHeight, g.top, g.bottom, g.left, g.right]).toEqual([
      640, 425, 107, 108, 0, 0,
    ]);
  });

  it('odd padding on the right (199x300 into 640)', () => {
    const g = letterboxGeometry(199, 300, 640, 640);
    expect([g.resizedWidth, g.resizedHeight, g.left, g.right, g.top, g.bottom]).toEqual([
      425, 640, 107, 108, 0, 0,
    ]);
  });

  it('odd source sizes, nearly square (641x479 into 640)', () => {
    // gain = 640/641; 479·gain = 478.25 → 478; dh = 81.
    const g = letterboxGeometry(641, 479, 640, 640);
    expect([g.resizedWidth, g.resizedHeight, g.top, g.bottom]).toEqual([640, 478, 81, 81]);
  });

  it('non-square input (1920x1080 into 640 wide x 384 high): width limits', () => {
    // gain = min(384/1080 = 0.356, 640/1920 = 0.333) = 1/3 → 640x360, dh = 12.
    const g = letterboxGeometry(1920, 1080, 640, 384);
    expect([g.gain, g.resizedWidth, g.resizedHeight, g.top, g.bottom, g.left]).toEqual([
      1 / 3,
      640,
      360,
      12,
      12,
      0,
    ]);
  });

  it('upscales small images (Ultralytics scaleup=True)', () => {
    const g = letterboxGeometry(160, 120, 640, 640);
    expect([g.gain, g.resizedWidth, g.resizedHeight, g.top, g.bottom]).toEqual([
      4, 640, 480, 80, 80,
    ]);
  });

  it('keeps at least one pixel for extreme strips', () => {
    const g = letterboxGeometry(1, 5000, 640, 640);
    expect(g.resizedWidth).toBe(1);
    expect(g.left + g.resizedWidth + g.right).toBe(640);
  });

  it('padding plus resized size always fills the input exactly', () => {
    for (let w = 1; w < 2000; w += 37) {
      for (let h = 1; h < 2000; h += 41) {
        const g = letterboxGeometry(w, h, 640, 384);
        expect(g.left + g.resizedWidth + g.right).toBe(640);
        expect(g.top + g.resizedHeight + g.bottom).toBe(384);
      }
    }
  });

  it('honours the size a resizer actually produced', () => {
    const g = letterboxGeometry(300, 199, 640, 640, { width: 640, height: 424 });
    expect([g.resizedHeight, g.top, g.bottom]).toEqual([424, 108, 108]);
  });

  it('rejects empty images', () => {
    expect(() => letterboxGeometry(0, 10, 640, 640)).toThrow(RangeError);
  });
});

describe('mapping back to original pixels', () => {
  const g = letterboxGeometry(1280, 720, 640, 640);

  it('removes the padding and the scale', () => {
    expect(unletterboxX(g, 100)).toBe(200);
    expect(unletterboxY(g, 140)).toBe(0);
    expect(unletterboxY(g, 500)).toBe(720);
    expect(unletterboxY(g, 320)).toBe(360);
  });

  it('clips to the image', () => {
    expect(unletterboxY(g, 10)).toBe(0);
    expect(unletterboxY(g, 630)).toBe(720);
    expect(unletterboxX(g, -5)).toBe(0);
    expect(unletterboxX(g, 700)).toBe(1280);
  });
});

describe('scaledToSource: an image stored smaller than its source', () => {
  it('maps boxes of a 640x360 frame into its 1920x1080 source', () => {
    const g = scaledToSource(letterboxGeometry(640, 360, 640, 640), { width: 1920, height: 1080 });
    expect([g.srcWidth, g.srcHeight]).toEqual([1920, 1080]);
    // The network input is the frame's letterbox as before; only the way back changes.
    expect([g.resizedWidth, g.resizedHeight, g.top]).toEqual([640, 360, 140]);
    expect(unletterboxX(g, 100)).toBeCloseTo(300, 9);
    expect(unletterboxY(g, 140 + 200)).toBeCloseTo(600, 9);
    expect(unletterboxY(g, 639)).toBe(1080);
  });

  it('tolerates a pixel of rounding in the stored size (1366x768 stored as 640x360)', () => {
    const g = scaledToSource(letterboxGeometry(640, 360, 640, 640), { width: 1366, height: 768 });
    expect(g.srcWidth).toBe(1366);
    expect(unletterboxX(g, 640)).toBeCloseTo(1366, 9);
    expect(Math.abs(unletterboxY(g, 140 + 360) - 768)).toBeLessThan(1);
  });

  it('keeps the image pixels when the shapes disagree (a frame turned a quarter)', () => {
    const g = letterboxGeometry(360, 640, 640, 640);
    expect(scaledToSource(g, { width: 1920, height: 1080 })).toBe(g);
    expect(scaledToSource(g, { width: 360, height: 640 })).toBe(g);
  });
});
