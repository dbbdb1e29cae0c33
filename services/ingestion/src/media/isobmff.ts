import { open } from 'node:fs/promises';

/** A top-level box of an ISO BMFF file (mp4, mov, m4v, 3gp) that runs past the end of the file. */
export interface TruncatedBox {
  /** The box type, e.g. `mdat`. */
  readonly type: string;
  readonly offset: number;
  /** Size the box header declares, bytes. */
  readonly declaredBytes: number;
  readonly fileBytes: number;
  /** How many bytes the file lacks to hold the box. */
  readonly missingBytes: number;
}

/** Most top-level boxes a file may have before we stop walking (mp4s have a handful). */
const MAX_BOXES = 100_000;

/**
 * Walks the top-level boxes of an ISO BMFF file and returns the first one whose declared size
 * runs past the end of the file, or undefined when every box fits.
 *
 * Why: an mp4 cut short after `+faststart` (index, `moov`, at the front) still passes ffprobe,
 * which reads only the index; its `mdat` header however declares the size the media had. The
 * same check catches an mp4 cut short with its index at the end. Reads 16 bytes per box.
 *
 * Not detected: a last box of size 0 ("extends to the end of the file", which writers use only
 * when they could not seek back), and bytes missing inside a box whose header still fits (the
 * file would then be shorter than declared, which is exactly what this finds).
 */
export async function findTruncatedBox(path: string): Promise<TruncatedBox | undefined> {
  const handle = await open(path, 'r');
  try {
    const fileBytes = (await handle.stat()).size;
    const header = Buffer.alloc(16);
    let offset = 0;
    for (let boxes = 0; offset < fileBytes && boxes < MAX_BOXES; boxes++) {
      const { bytesRead } = await handle.read(header, 0, 16, offset);
      // A few trailing bytes too short for a header: padding some writers leave; ffprobe judges.
      if (bytesRead < 8) return undefined;
      const size32 = header.readUInt32BE(0);
      const type = header.toString('latin1', 4, 8);
      let declared: number;
      if (size32 === 1) {
        if (bytesRead < 16) {
          return { type, offset, declaredBytes: 16, fileBytes, missingBytes: 16 - bytesRead };
        }
        declared = Number(header.readBigUInt64BE(8));
      } else if (size32 === 0) {
        return undefined; // runs to the end of the file by definition
      } else {
        declared = size32;
      }
      // A size smaller than its own header is not ISO BMFF at all; leave it to ffprobe.
      if (declared < 8) return undefined;
      if (offset + declared > fileBytes) {
        return {
          type,
          offset,
          declaredBytes: declared,
          fileBytes,
          missingBytes: offset + declared - fileBytes,
        };
      }
      offset += declared;
    }
    return undefined;
  } finally {
    await handle.close();
  }
}
