import { checkListLimit, resolveRange } from './options';

describe('resolveRange', () => {
  it('covers start..end inclusive', () => {
    expect(resolveRange({ start: 10, end: 19 }, 100)).toEqual({ start: 10, length: 10 });
  });
  it('runs to the end when end is missing, and clamps an end past it', () => {
    expect(resolveRange({ start: 90 }, 100)).toEqual({ start: 90, length: 10 });
    expect(resolveRange({ start: 90, end: 1000 }, 100)).toEqual({ start: 90, length: 10 });
  });
  it('is undefined for a start at or past the end (HTTP 416)', () => {
    expect(resolveRange({ start: 100 }, 100)).toBeUndefined();
    expect(resolveRange({ start: 0 }, 0)).toBeUndefined();
  });
  it.each([[{ start: -1 }], [{ start: 1.5 }], [{ start: 5, end: 4 }], [{ start: Number.NaN }]])(
    'rejects the impossible range %j',
    (range) => {
      expect(() => resolveRange(range, 100)).toThrow(RangeError);
    },
  );
});

describe('checkListLimit', () => {
  it.each([1, 500, 1000])('accepts %d', (n) => {
    expect(checkListLimit(n)).toBe(n);
  });
  it.each([0, 1001, 2.5, -3])('rejects %d', (n) => {
    expect(() => checkListLimit(n)).toThrow(RangeError);
  });
});
