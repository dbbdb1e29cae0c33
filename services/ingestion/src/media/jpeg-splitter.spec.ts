import { Readable } from 'node:stream';
import { JpegSplitter } from './jpeg-splitter';

const jpeg = (body: number[]) => Buffer.from([0xff, 0xd8, ...body, 0xff, 0xd9]);

async function split(chunks: Buffer[]): Promise<Buffer[]> {
  const out: Buffer[] = [];
  for await (const frame of Readable.from(chunks).pipe(new JpegSplitter()))
    out.push(frame as Buffer);
  return out;
}

describe('JpegSplitter', () => {
  const a = jpeg([1, 2, 0xff, 0x00, 3]);
  const b = jpeg([4, 0xff, 0xd0, 5, 6]);
  const stream = Buffer.concat([a, b]);

  it('splits concatenated JPEGs, keeping stuffed bytes and restart markers inside', async () => {
    expect(await split([stream])).toEqual([a, b]);
  });

  it('finds markers split across every possible chunk boundary', async () => {
    for (let cut = 1; cut < stream.length; cut++) {
      expect(await split([stream.subarray(0, cut), stream.subarray(cut)])).toEqual([a, b]);
    }
    const bytes = [...stream].map((x) => Buffer.from([x]));
    expect(await split(bytes)).toEqual([a, b]);
  });

  it('drops a trailing partial frame (ffmpeg killed mid-write)', async () => {
    expect(await split([a, b.subarray(0, 5)])).toEqual([a]);
  });
});
