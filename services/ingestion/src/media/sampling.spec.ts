import {
  expectedFrames,
  formatSampling,
  frameTimeMs,
  parseSampling,
  samplingFilter,
} from './sampling';

const limits = { maxFps: 60, maxEveryNth: 1000 };

describe('sampling', () => {
  it('parses the three forms and round-trips them', () => {
    for (const text of ['fps:5', 'fps:0.5', 'every:10', 'all']) {
      const parsed = parseSampling(text, limits);
      expect(parsed.ok && formatSampling(parsed.sampling)).toBe(text);
    }
  });

  it('rejects out-of-range and malformed values', () => {
    for (const text of ['fps:0', 'fps:61', 'every:0', 'every:1001', 'fps:-1', '5', 'fps:abc', '']) {
      expect(parseSampling(text, limits).ok).toBe(false);
    }
  });

  it('builds the ffmpeg filter', () => {
    expect(samplingFilter({ kind: 'fps', fps: 5 })).toBe('fps=5');
    expect(samplingFilter({ kind: 'everyNth', n: 3 })).toBe('select=not(mod(n\\,3))');
    expect(samplingFilter({ kind: 'all' })).toBeUndefined();
  });

  it('times frames: i/N for a rate, i·n/source fps for every n-th', () => {
    expect(frameTimeMs({ kind: 'fps', fps: 4 }, 30, 3)).toBe(750);
    expect(frameTimeMs({ kind: 'everyNth', n: 3 }, 30, 2)).toBe(200);
    expect(frameTimeMs({ kind: 'all' }, 25, 50)).toBe(2000);
  });

  it('estimates the frame count', () => {
    const probe = { durationS: 10, fps: 30, width: 1, height: 1, codec: 'h264' };
    expect(expectedFrames({ kind: 'fps', fps: 5 }, probe)).toBe(50);
    expect(expectedFrames({ kind: 'everyNth', n: 7 }, probe)).toBe(43);
    expect(expectedFrames({ kind: 'all' }, probe, 299)).toBe(299);
  });
});
