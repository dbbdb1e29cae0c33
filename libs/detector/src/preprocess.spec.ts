import { letterboxGeometry } from './letterbox';
import { InputSlot } from './preprocess';

describe('InputSlot.write (HWC bytes → CHW float32 planes)', () => {
  // A 4×2 image letterboxed into a 4×4 input: one padding row above and one below.
  const geometry = letterboxGeometry(4, 2, 4, 4);
  const plane = 4 * 4;

  it('writes every byte as byte / 255 in float32, each channel in its plane, padding 114 / 255', () => {
    expect(geometry).toMatchObject({ resizedWidth: 4, resizedHeight: 2, top: 1, left: 0 });
    const planes = new Float32Array(3 * plane);
    const slot = new InputSlot(planes, 4, 4);
    // Every byte value appears: 8 pixels × 3 channels, run through 0..255 in steps of 11.
    const rgb = Uint8Array.from({ length: 4 * 2 * 3 }, (_, i) => (i * 11) % 256);
    slot.write(rgb, 3, geometry);
    for (let y = 0; y < 2; y++) {
      for (let x = 0; x < 4; x++) {
        for (let c = 0; c < 3; c++) {
          const byte = rgb[(y * 4 + x) * 3 + c] ?? -1;
          expect(planes[c * plane + (1 + y) * 4 + x]).toBe(Math.fround(byte / 255));
        }
      }
    }
    const pad = Math.fround(114 / 255);
    for (let c = 0; c < 3; c++) {
      for (const row of [0, 3]) {
        expect(Array.from(planes.subarray(c * plane + row * 4, c * plane + row * 4 + 4))).toEqual([
          pad,
          pad,
          pad,
          pad,
        ]);
      }
    }
  });

  it('maps all 256 byte values exactly as dividing by 255 would', () => {
    const wide = letterboxGeometry(256, 1, 256, 1);
    const planes = new Float32Array(3 * 256);
    const rgb = Uint8Array.from({ length: 256 * 3 }, (_, i) => Math.floor(i / 3));
    new InputSlot(planes, 256, 1).write(rgb, 3, wide);
    const expected = Float32Array.from({ length: 256 }, (_, v) => v / 255);
    for (let c = 0; c < 3; c++) {
      expect(planes.subarray(c * 256, (c + 1) * 256)).toEqual(expected);
    }
  });

  it('skips a fourth channel (RGBA input)', () => {
    const planes = new Float32Array(3 * plane);
    const rgba = Uint8Array.from({ length: 4 * 2 * 4 }, (_, i) => (i % 4 === 3 ? 255 : 51));
    new InputSlot(planes, 4, 4).write(rgba, 4, geometry);
    const inside = [0, 1, 2].flatMap((c) =>
      Array.from(planes.subarray(c * plane + 4, c * plane + 12)),
    );
    expect(new Set(inside)).toEqual(new Set([Math.fround(51 / 255)]));
  });
});
