import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findTruncatedBox } from './isobmff';

/** A box: 32-bit size header, or the 64-bit `largesize` form, or size 0 (to end of file). */
function box(type: string, payload: number, form: 'small' | 'large' | 'to-end' = 'small'): Buffer {
  const headerBytes = form === 'large' ? 16 : 8;
  const out = Buffer.alloc(headerBytes + payload, 0);
  out.write(type, 4, 'latin1');
  if (form === 'small') out.writeUInt32BE(headerBytes + payload, 0);
  if (form === 'large') {
    out.writeUInt32BE(1, 0);
    out.writeBigUInt64BE(BigInt(headerBytes + payload), 8);
  }
  return out;
}

describe('findTruncatedBox', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'fw-isobmff-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });
  async function check(bytes: Buffer) {
    const path = join(dir, 'f.mp4');
    await writeFile(path, bytes);
    return findTruncatedBox(path);
  }

  it('accepts a file whose boxes tile it exactly', async () => {
    const file = Buffer.concat([box('ftyp', 24), box('moov', 100), box('mdat', 1000)]);
    expect(await check(file)).toBeUndefined();
  });

  it('finds the box that runs past the end, in the 32-bit and the 64-bit size forms', async () => {
    const small = Buffer.concat([box('ftyp', 24), box('moov', 100), box('mdat', 1000)]);
    expect(await check(small.subarray(0, small.length - 300))).toEqual({
      type: 'mdat',
      offset: 32 + 108,
      declaredBytes: 1008,
      fileBytes: small.length - 300,
      missingBytes: 300,
    });
    const large = Buffer.concat([box('ftyp', 24), box('mdat', 5000, 'large')]);
    expect(await check(large.subarray(0, 1000))).toMatchObject({
      type: 'mdat',
      declaredBytes: 5016,
      missingBytes: 5016 + 32 - 1000,
    });
  });

  it('cannot judge a last box of size 0 (to the end of the file), nor a few trailing bytes', async () => {
    expect(await check(Buffer.concat([box('ftyp', 24), box('mdat', 10, 'to-end')]))).toBe(
      undefined,
    );
    expect(await check(Buffer.concat([box('ftyp', 24), Buffer.alloc(4)]))).toBeUndefined();
  });
});
