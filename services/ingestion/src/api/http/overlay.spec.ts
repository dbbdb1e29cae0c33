import sharp from 'sharp';
import { overlayDetections } from './overlay';

/** A 80x60 gray JPEG: a frame stored at half the size of a 160x120 video. */
function grayFrame(): Promise<Buffer> {
  return sharp({ create: { width: 80, height: 60, channels: 3, background: '#808080' } })
    .jpeg({ quality: 95 })
    .toBuffer();
}

async function greenAt(jpeg: Buffer, x: number, y: number): Promise<boolean> {
  const { data, info } = await sharp(jpeg).raw().toBuffer({ resolveWithObject: true });
  const at = (y * info.width + x) * info.channels;
  const [r = 0, g = 0, b = 0] = data.subarray(at, at + 3);
  return g > 180 && r < 100 && b < 160;
}

describe('overlayDetections', () => {
  const car = (box: [number, number, number, number]) => ({
    class: 'car',
    classId: 2,
    score: 0.9,
    box,
  });

  it('draws boxes given in video pixels onto a frame stored smaller', async () => {
    const source = { width: 160, height: 120 };
    const out = await overlayDetections(
      sharp,
      await grayFrame(),
      [car([40, 40, 120, 100])],
      source,
    );
    // Halved: the box's left edge is at x=20 and its right edge at x=60, from y=20 to y=50.
    expect(await greenAt(out, 20, 35)).toBe(true);
    expect(await greenAt(out, 60, 35)).toBe(true);
    expect(await greenAt(out, 40, 35)).toBe(false);
  });

  it('draws them as they are when the frame has the video size', async () => {
    const out = await overlayDetections(sharp, await grayFrame(), [car([10, 10, 40, 40])]);
    expect(await greenAt(out, 10, 25)).toBe(true);
    expect(await greenAt(out, 20, 25)).toBe(false);
  });
});
