// sharp's `fit: 'inside'` must size images exactly as Ultralytics' LetterBox rounds them.
import sharp from 'sharp';
import { letterboxGeometry } from './letterbox';

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
