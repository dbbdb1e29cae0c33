import { det } from '../testing.spec-helper';
import { classCounts, storedDetection } from './results.repository';
import { clampLimit } from './videos.repository';

describe('classCounts', () => {
  it('counts detections per class name', () => {
    expect(classCounts([det('car'), det('person'), det('car')])).toEqual({ car: 2, person: 1 });
    expect(classCounts([])).toEqual({});
  });
});

describe('storedDetection', () => {
  it('rounds scores and confidences to 4 decimals and coordinates to 0.1 pixel', () => {
    const raw = {
      class: 'person',
      classId: 0,
      score: Math.fround(0.891234567),
      box: [Math.fround(12.3456), 7, 1919.96, Math.fround(1079.04999)] as const,
      keypoints: [[Math.fround(100.123), 200.06, Math.fround(0.55555)] as const],
    };
    expect(storedDetection(raw)).toEqual({
      class: 'person',
      classId: 0,
      score: 0.8912,
      box: [12.3, 7, 1920, 1079.1],
      keypoints: [[100.1, 200.1, 0.5555]],
    });
    expect(JSON.stringify(storedDetection(raw))).toBe(
      '{"class":"person","classId":0,"score":0.8912,"box":[12.3,7,1920,1079.1],"keypoints":[[100.1,200.1,0.5555]]}',
    );
    expect(storedDetection(det('car'))).toEqual(det('car'));
    expect('keypoints' in storedDetection(det('car'))).toBe(false);
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
