import { plainJpegSize } from './jpeg-size';

/** A marker segment: 0xFF, the marker, a 16-bit length that counts itself, the payload. */
function segment(marker: number, payload: number[]): number[] {
  const length = payload.length + 2;
  return [0xff, marker, length >> 8, length & 0xff, ...payload];
}

/** A start-of-frame payload: precision 8, the size, three components. */
function frameHeader(width: number, height: number): number[] {
  return [
    8,
    height >> 8,
    height & 0xff,
    width >> 8,
    width & 0xff,
    3,
    1,
    0x22,
    0,
    2,
    0x11,
    1,
    3,
    0x11,
    1,
  ];
}

const SOI = [0xff, 0xd8];
const JFIF = segment(0xe0, [...Buffer.from('JFIF\0'), 1, 1, 0, 0, 1, 0, 1, 0, 0]);
const DQT = segment(0xdb, [0, ...new Array<number>(64).fill(1)]);
const DHT = segment(0xc4, [0, ...new Array<number>(16).fill(0), 0]);
const SOS = [...segment(0xda, [1, 1, 0, 0, 63, 0]), 0x12, 0x34, 0xff, 0xd9];

function jpeg(...parts: number[][]): Uint8Array {
  return Uint8Array.from(parts.flat());
}

describe('plainJpegSize', () => {
  it('reads the size from a baseline frame header', () => {
    const bytes = jpeg(SOI, JFIF, DQT, segment(0xc0, frameHeader(640, 360)), DHT, SOS);
    expect(plainJpegSize(bytes)).toEqual({ width: 640, height: 360 });
  });

  it.each([
    ['extended sequential', 0xc1],
    ['progressive', 0xc2],
    ['lossless', 0xc3],
    ['arithmetic progressive', 0xca],
  ])('reads a %s frame header', (_name, marker) => {
    const bytes = jpeg(SOI, segment(marker, frameHeader(4000, 3000)), SOS);
    expect(plainJpegSize(bytes)).toEqual({ width: 4000, height: 3000 });
  });

  it('takes neither DHT (0xC4) nor DAC (0xCC) for a frame header', () => {
    const dac = segment(0xcc, [0, 0x11]);
    expect(plainJpegSize(jpeg(SOI, DHT, dac, segment(0xc0, frameHeader(8, 6)), SOS))).toEqual({
      width: 8,
      height: 6,
    });
    expect(plainJpegSize(jpeg(SOI, DHT, dac, SOS))).toBeUndefined();
  });

  it('skips fill bytes before a marker', () => {
    const bytes = jpeg(SOI, [0xff, 0xff], JFIF, [0xff], segment(0xc0, frameHeader(33, 17)), SOS);
    expect(plainJpegSize(bytes)).toEqual({ width: 33, height: 17 });
  });

  it('leaves a JPEG with an EXIF segment to libvips (it may be rotated)', () => {
    const exif = segment(0xe1, [...Buffer.from('Exif\0\0'), 0x4d, 0x4d, 0, 0x2a, 0, 0, 0, 8]);
    expect(plainJpegSize(jpeg(SOI, exif, segment(0xc0, frameHeader(64, 48)), SOS))).toBeUndefined();
    // Also when the EXIF segment comes after the frame header (libjpeg reads it there too).
    expect(plainJpegSize(jpeg(SOI, segment(0xc0, frameHeader(64, 48)), exif, SOS))).toBeUndefined();
  });

  it('answers for an APP1 segment that is not EXIF (XMP)', () => {
    const xmp = segment(0xe1, [...Buffer.from('http://ns.adobe.com/xap/1.0/\0<x/>')]);
    expect(plainJpegSize(jpeg(SOI, xmp, segment(0xc0, frameHeader(64, 48)), SOS))).toEqual({
      width: 64,
      height: 48,
    });
  });

  it.each([
    ['not a JPEG (PNG)', jpeg([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])],
    ['empty', jpeg([])],
    ['only SOI', jpeg(SOI)],
    ['no frame header before the scan', jpeg(SOI, JFIF, SOS)],
    [
      'two frame headers',
      jpeg(SOI, segment(0xc0, frameHeader(8, 8)), segment(0xc2, frameHeader(9, 9)), SOS),
    ],
    ['height 0 (set later by DNL)', jpeg(SOI, segment(0xc0, frameHeader(64, 0)), SOS)],
    ['width 0', jpeg(SOI, segment(0xc0, frameHeader(0, 64)), SOS)],
    ['a frame header too short for a size', jpeg(SOI, segment(0xc0, [8, 0, 1]), SOS)],
    [
      'a segment length below 2',
      jpeg(SOI, [0xff, 0xe0, 0, 1], segment(0xc0, frameHeader(8, 8)), SOS),
    ],
    ['garbage between segments', jpeg(SOI, [0x00], segment(0xc0, frameHeader(8, 8)), SOS)],
    ['EOI before the scan', jpeg(SOI, segment(0xc0, frameHeader(8, 8)), [0xff, 0xd9])],
  ])('answers undefined for %s', (_name, bytes) => {
    expect(plainJpegSize(bytes)).toBeUndefined();
  });

  it('answers undefined, without throwing, for every truncation of the headers', () => {
    const whole = jpeg(SOI, JFIF, DQT, segment(0xc0, frameHeader(640, 360)), DHT, SOS);
    const scanAt = whole.length - SOS.length;
    for (let n = 0; n <= scanAt + 1; n++) {
      expect(plainJpegSize(whole.subarray(0, n))).toBeUndefined();
    }
    // From the scan marker on, the size is known and the rest is not read.
    expect(plainJpegSize(whole.subarray(0, scanAt + 2))).toEqual({ width: 640, height: 360 });
  });
});
