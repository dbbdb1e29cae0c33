import { det } from '../testing.spec-helper';
import { classCounts } from './results.repository';
import { clampLimit } from './videos.repository';

describe('classCounts', () => {
  it('counts detections per class name', () => {
    expect(classCounts([det('car'), det('person'), det('car')])).toEqual({ car: 2, person: 1 });
    expect(classCounts([])).toEqual({});
  });
});

describe('clampLimit', () => {
  it('keeps page sizes within 1–1000 and defaults the rest', () => {
    expect(clampLimit(undefined, 50)).toBe(50);
    expect(clampLimit(Number.NaN, 50)).toBe(50);
    expect(clampLimit(0, 50)).toBe(1);
    expect(clampLimit(5000, 50)).toBe(1000);
    expect(clampLimit(7.9, 50)).toBe(7);
  });
});
