import { Transform, type TransformCallback } from 'node:stream';

const SOI = 0xd8;
const EOI = 0xd9;
const MARKER = 0xff;

/**
 * Splits ffmpeg's `-f image2pipe -c:v mjpeg` output into one Buffer per JPEG.
 *
 * A JPEG starts with FF D8 (SOI) and ends with FF D9 (EOI). Inside the entropy-coded data a
 * 0xFF byte is always followed by 0x00 or a restart marker (byte stuffing), so FF D9 can only
 * be the end; ffmpeg's mjpeg encoder writes no embedded thumbnails that could nest one.
 * Only the frame being assembled is held, so memory stays at about one frame plus the stream's
 * buffers; being a Transform in object mode with a small high-water mark, it stops reading
 * (and so blocks ffmpeg on its pipe) while the consumer is busy.
 */
export class JpegSplitter extends Transform {
  private parts: Buffer[] = [];
  private partsLength = 0;
  private inFrame = false;
  /** The previous chunk ended with 0xFF: a marker may straddle chunks. */
  private pendingFF = false;

  constructor() {
    super({ readableObjectMode: true, readableHighWaterMark: 4 });
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    let start = 0;
    let i = 0;
    if (this.pendingFF && chunk.length > 0) {
      this.pendingFF = false;
      const next = chunk[0];
      if (!this.inFrame && next === SOI) {
        this.beginFrame(Buffer.from([MARKER]));
      } else if (this.inFrame && next === EOI) {
        this.append(chunk.subarray(0, 1));
        this.emitFrame();
        start = 1;
      }
      i = 1;
    }
    for (; i < chunk.length; i++) {
      if (chunk[i] !== MARKER) continue;
      if (i + 1 >= chunk.length) {
        this.pendingFF = true;
        break;
      }
      const next = chunk[i + 1];
      if (!this.inFrame && next === SOI) {
        start = i;
        this.inFrame = true;
        i++;
      } else if (this.inFrame && next === EOI) {
        this.append(chunk.subarray(start, i + 2));
        this.emitFrame();
        start = i + 2;
        i++;
      }
    }
    if (this.inFrame && start < chunk.length) this.append(chunk.subarray(start));
    done();
  }

  override _flush(done: TransformCallback): void {
    // A partial frame at the end (ffmpeg killed mid-write) is dropped: never a broken JPEG.
    this.parts = [];
    this.partsLength = 0;
    done();
  }

  private beginFrame(first: Buffer): void {
    this.inFrame = true;
    this.parts = [first];
    this.partsLength = first.length;
  }

  private append(part: Buffer): void {
    if (part.length === 0) return;
    this.parts.push(part);
    this.partsLength += part.length;
  }

  private emitFrame(): void {
    // A copy either way: a subarray would pin the whole chunk it came from.
    const frame = Buffer.concat(this.parts, this.partsLength);
    this.parts = [];
    this.partsLength = 0;
    this.inFrame = false;
    this.push(frame);
  }
}
