// plainJpegSize must agree with libvips (sharp's metadata, orientation applied) on every JPEG it
// answers for, and must leave to libvips every JPEG that carries EXIF.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { plainJpegSize } from './jpeg-size';
import { fixturesDir } from './testing.spec-helper';

async function libvipsSize(bytes: Uint8Array): Promise<{ width: number; height: number }> {
  const meta = await sharp(bytes).metadata();
  return meta.autoOrient;
}

/** A noisy image, so the encoder writes real scans (and several for progressive). */
function noise(width: number, height: number, channels: 1 | 3): sharp.Sharp {
  const data = Buffer.alloc(width * height * channels);
  for (let i = 0; i < data.length; i++) data[i] = (i * 2654435761) >>> 24;
  return sharp(data, { raw: { width, height, channels } });
}

describe('plainJpegSize against libvips', () => {
  it('agrees on JPEGs sharp writes: sizes, progressive, 4:4:4, gray, with an ICC profile', async () => {
    const cases: [string, Buffer][] = [];
    for (const [w, h] of [
      [640, 360],
      [1, 1],
      [3, 1000],
      [1921, 1081],
    ] as const) {
      cases.push([`${w}x${h}`, await noise(w, h, 3).jpeg().toBuffer()]);
    }
    cases.push(['progressive', await noise(320, 200, 3).jpeg({ progressive: true }).toBuffer()]);
    cases.push(['4:4:4', await noise(320, 200, 3).jpeg({ chromaSubsampling: '4:4:4' }).toBuffer()]);
    cases.push(['gray', await noise(320, 200, 1).jpeg().toBuffer()]);
    cases.push(['ICC profile', await noise(320, 200, 3).withIccProfile('p3').jpeg().toBuffer()]);
    for (const [name, bytes] of cases) {
      expect([name, plainJpegSize(bytes)]).toEqual([name, await libvipsSize(bytes)]);
    }
  });

  it('leaves every EXIF orientation to libvips, which swaps the size for 5–8', async () => {
    const base = await noise(64, 48, 3).jpeg().toBuffer();
    for (let orientation = 1; orientation <= 8; orientation++) {
      const bytes = await sharp(base).withMetadata({ orientation }).jpeg().toBuffer();
      expect(plainJpegSize(bytes)).toBeUndefined();
      expect(await libvipsSize(bytes)).toEqual(
        orientation >= 5 ? { width: 48, height: 64 } : { width: 64, height: 48 },
      );
    }
  });

  it('agrees on a frame as the extractor stores it (ffmpeg mjpeg)', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'framewise-jpeg-size-'));
    try {
      const file = path.join(dir, 'frame.jpg');
      execFileSync(
        'ffmpeg',
        [
          '-v',
          'error',
          '-f',
          'lavfi',
          '-i',
          'testsrc2=size=640x360',
          '-frames:v',
          '1',
          '-q:v',
          '3',
          file,
        ],
        { stdio: 'pipe' },
      );
      const bytes = fs.readFileSync(file);
      expect(plainJpegSize(bytes)).toEqual({ width: 640, height: 360 });
      expect(await libvipsSize(bytes)).toEqual({ width: 640, height: 360 });
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  const fixtures = fixturesDir(process.env.FRAMEWISE_FIXTURES);
  (fixtures ? it : it.skip)(
    fixtures
      ? 'agrees on the fixture photos (bus.jpg, zidane.jpg)'
      : 'agrees on the fixture photos — SKIPPED: fixtures not found at ../shared/fixtures (set FRAMEWISE_FIXTURES)',
    async () => {
      for (const name of ['bus.jpg', 'zidane.jpg']) {
        const bytes = fs.readFileSync(path.join(fixtures ?? '', 'images', name));
        const meta = await sharp(bytes).metadata();
        // Answered exactly when there is no EXIF, and then equal to libvips' size.
        expect([name, plainJpegSize(bytes)]).toEqual([
          name,
          meta.exif ? undefined : meta.autoOrient,
        ]);
      }
    },
  );

  it('never disagrees with libvips on 2,000 JPEGs with corrupted headers', async () => {
    const base = await noise(97, 61, 3)
      .withMetadata({ orientation: 6 })
      .jpeg({ progressive: true })
      .toBuffer();
    const plain = await noise(97, 61, 3).jpeg().toBuffer();
    let seed = 7;
    const random = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    let answered = 0;
    for (let i = 0; i < 2000; i++) {
      const bytes = Buffer.from(i % 2 ? base : plain);
      // Corrupt one to three bytes among the headers (the first ~700 bytes).
      for (let k = 0, n = 1 + random(3); k < n; k++) bytes[random(700)] = random(256);
      const size = plainJpegSize(bytes);
      if (size === undefined) continue;
      const vips = await libvipsSize(bytes).catch(() => undefined);
      // libvips may refuse what the headers hide (a broken table); when it reads a size, it is ours.
      if (vips !== undefined) {
        answered++;
        expect(size).toEqual(vips);
      }
    }
    // The check is not vacuous: most corruptions leave the size readable.
    expect(answered).toBeGreaterThan(500);
  });
});
