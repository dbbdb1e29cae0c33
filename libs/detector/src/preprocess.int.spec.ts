// sharp's `fit: 'inside'` must size images exactly as Ultralytics' LetterBox rounds them, and
// pixels must be read as Ultralytics (cv2.imread) reads them.
import sharp from 'sharp';
import { letterboxGeometry } from './letterbox';
import { resizeForInput } from './preprocess';

/** `jpeg` without its APP2 ICC_PROFILE segments: the same compressed pixels, no profile. */
function withoutIccProfile(jpeg: Buffer): Buffer {
  const kept: Buffer[] = [jpeg.subarray(0, 2)];
  let at = 2;
  // Marker segments up to start-of-scan: 0xFF, marker, 16-bit length (including itself).
  while (at + 4 <= jpeg.length && jpeg[at + 1] !== 0xda) {
    const end = at + 2 + jpeg.readUInt16BE(at + 2);
    const isIcc =
      jpeg[at + 1] === 0xe2 &&
      jpeg.subarray(at + 4, at + 16).toString('latin1') === 'ICC_PROFILE\0';
    if (!isIcc) kept.push(jpeg.subarray(at, end));
    at = end;
  }
  kept.push(jpeg.subarray(at));
  return Buffer.concat(kept);
}

describe("sharp fit 'inside' rounds like Ultralytics", () => {
  it('on 120 sizes (seeded), into square and non-square inputs', async () => {
    let seed = 12345;
    const next = (max: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return 1 + (seed % max);
    };
    const sizes: [number, number][] = [
      [810, 1080],
      [1280, 720],
      [641, 479],
      [3, 1000],
    ];
    while (sizes.length < 40) sizes.push([next(2500), next(2500)]);
    for (const [w, h] of sizes) {
      const png = await sharp({ create: { width: w, height: h, channels: 3, background: '#000' } })
        .png()
        .toBuffer();
      for (const [W, H] of [
        [640, 640],
        [320, 320],
        [640, 384],
      ] as const) {
        const { info } = await sharp(png)
          .resize(W, H, { fit: 'inside', kernel: 'linear' })
          .raw()
          .toBuffer({ resolveWithObject: true });
        const g = letterboxGeometry(w, h, W, H);
        expect([w, h, W, H, info.width, info.height]).toEqual([
          w,
          h,
          W,
          H,
          g.resizedWidth,
          g.resizedHeight,
        ]);
      }
    }
  });
});

describe('decoding ignores embedded ICC profiles, as cv2.imread does', () => {
  it('a JPEG with a Display P3 profile gives the pixels of the same JPEG without it', async () => {
    // A colourful gradient, so that a P3 → sRGB conversion would change the pixels.
    const width = 96;
    const height = 64;
    const rgb = Buffer.alloc(width * height * 3);
    for (let i = 0; i < width * height; i++) {
      rgb[3 * i] = (i * 7) % 256;
      rgb[3 * i + 1] = (i * 3) % 256;
      rgb[3 * i + 2] = 255 - (i % 256);
    }
    const withProfile = await sharp(rgb, { raw: { width, height, channels: 3 } })
      .withIccProfile('p3')
      .jpeg({ quality: 95 })
      .toBuffer();
    const plain = withoutIccProfile(withProfile);
    expect((await sharp(withProfile).metadata()).icc).toBeDefined();
    expect((await sharp(plain).metadata()).icc).toBeUndefined();
    // The guard: colour-managed decoding (sharp's default) does change these pixels.
    const managed = await sharp(withProfile).raw().toBuffer();
    expect(managed.equals(await sharp(plain).raw().toBuffer())).toBe(false);

    const a = await resizeForInput(withProfile, 64, 64);
    const b = await resizeForInput(plain, 64, 64);
    expect(a.geometry).toEqual(b.geometry);
    expect(Buffer.from(a.pixels).equals(Buffer.from(b.pixels))).toBe(true);
  });
});

describe('the source size', () => {
  // A 96x64 image, 64 wide letterbox: landscape 64x43 (top 10), portrait 43x64 (left 10).
  const landscape = { width: 96, height: 64, resizedWidth: 64, resizedHeight: 43 };
  const portrait = { width: 64, height: 96, resizedWidth: 43, resizedHeight: 64 };

  it('is the EXIF-rotated size for orientations 5–8, as libvips turns the pixels', async () => {
    const base = await sharp({ create: { width: 96, height: 64, channels: 3, background: '#456' } })
      .jpeg()
      .toBuffer();
    for (let orientation = 1; orientation <= 8; orientation++) {
      const rotated = await sharp(base).withMetadata({ orientation }).jpeg().toBuffer();
      const { geometry } = await resizeForInput(rotated, 64, 64);
      const expected = orientation >= 5 ? portrait : landscape;
      expect([orientation, geometry]).toMatchObject([
        orientation,
        {
          srcWidth: expected.width,
          srcHeight: expected.height,
          resizedWidth: expected.resizedWidth,
          resizedHeight: expected.resizedHeight,
        },
      ]);
    }
  });

  it('is the stored size for a JPEG without EXIF (read from its headers) and for a PNG', async () => {
    const image = sharp({ create: { width: 96, height: 64, channels: 3, background: '#456' } });
    for (const bytes of [
      await image.clone().jpeg().toBuffer(),
      await image.clone().png().toBuffer(),
    ]) {
      expect((await resizeForInput(bytes, 64, 64)).geometry).toMatchObject({
        srcWidth: 96,
        srcHeight: 64,
        resizedWidth: 64,
        resizedHeight: 43,
      });
    }
  });
});

describe('fastShrinkOnLoad', () => {
  /** A 1920×1080 JPEG with detail at every scale (so a different decode shows in the pixels). */
  async function detailedJpeg(): Promise<Buffer> {
    const width = 1920;
    const height = 1080;
    const raw = Buffer.alloc(width * height * 3);
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        const i = (y * width + x) * 3;
        raw[i] = (x * 255) / width;
        raw[i + 1] = ((x >> 3) + (y >> 3)) % 2 === 0 ? 230 : 20;
        raw[i + 2] = (x * y) % 251;
      }
    }
    return sharp(raw, { raw: { width, height, channels: 3 } })
      .jpeg({ quality: 90 })
      .toBuffer();
  }

  it('gives the same letterbox and nearly the same pixels as a full decode, by another path', async () => {
    const jpeg = await detailedJpeg();
    const full = await resizeForInput(jpeg, 640, 640);
    const fast = await resizeForInput(jpeg, 640, 640, { fastShrinkOnLoad: true });
    expect(fast.geometry).toEqual(full.geometry);
    expect(fast.geometry).toMatchObject({ resizedWidth: 640, resizedHeight: 360, top: 140 });
    expect(fast.pixels.length).toBe(full.pixels.length);
    let different = 0;
    let sum = 0;
    for (let i = 0; i < full.pixels.length; i++) {
      const d = Math.abs((full.pixels[i] ?? 0) - (fast.pixels[i] ?? 0));
      if (d > 0) different++;
      sum += d;
    }
    // libjpeg decoded at half size: not the same pixels (the option reached libvips) …
    expect(different / full.pixels.length).toBeGreaterThan(0.5); // 0.95 here
    // … but the same picture: a mean difference of a few levels out of 255.
    expect(sum / full.pixels.length).toBeLessThan(8); // 3.7 here
  });
});
