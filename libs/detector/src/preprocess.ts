// Image → network input, as Ultralytics prepares it: letterbox (keep aspect, resize bilinear,
// pad centred with gray 114), RGB, float32 CHW scaled to 0..1. sharp decodes and resizes on
// libuv's thread pool; only the final HWC→CHW float copy runs on the JS thread.
import sharp from 'sharp';
import type { ImageInput } from './detector';
import { ImageInputError } from './errors';
import { plainJpegSize } from './jpeg-size';
import type { LetterboxGeometry } from './letterbox';
import { letterboxGeometry } from './letterbox';

const PAD = 114 / 255;

/**
 * Every byte value scaled to 0..1, as float32: the copy looks values up instead of dividing,
 * which takes a quarter to a third off its time (0.8–1.0 against 1.1–1.3 ms for a 640×360
 * frame) and gives exactly the same floats (the division is rounded to float32 either way).
 */
const UNIT = Float32Array.from({ length: 256 }, (_, i) => i / 255);

/** How images are decoded and resized. */
export interface PreprocessOptions {
  /**
   * Let libjpeg shrink large JPEGs while decoding (2×/4×/8×) before the exact resize. Much
   * faster on big frames; pixels differ slightly from a full decode. Default false (Ultralytics
   * decodes fully).
   */
  readonly fastShrinkOnLoad?: boolean;
}

/** Float32 input planes of one image inside a batch buffer, with the letterbox it was made with. */
export class InputSlot {
  /** The letterbox last written into this slot; padding is refilled only when it changes. */
  private painted: LetterboxGeometry | undefined;

  constructor(
    /** [3, H, W] view into the batch tensor's data. */
    private planes: Float32Array,
    readonly width: number,
    readonly height: number,
  ) {}

  /** Points the slot at the same planes in a buffer that came back from a transfer. */
  rebind(planes: Float32Array): void {
    this.planes = planes;
  }

  /** Copies resized RGB pixels (HWC uint8) into the planes at the letterbox offset. */
  write(rgb: Uint8Array, channels: number, geometry: LetterboxGeometry): void {
    const { width, height, planes } = this;
    const plane = width * height;
    if (!sameLayout(this.painted, geometry)) {
      planes.fill(PAD);
      this.painted = geometry;
    }
    const { resizedWidth: rw, resizedHeight: rh, top, left } = geometry;
    const green = plane;
    const blue = 2 * plane;
    let src = 0;
    for (let y = 0; y < rh; y++) {
      let dst = (top + y) * width + left;
      const end = dst + rw;
      for (; dst < end; dst++, src += channels) {
        planes[dst] = UNIT[rgb[src] ?? 0] ?? 0;
        planes[dst + green] = UNIT[rgb[src + 1] ?? 0] ?? 0;
        planes[dst + blue] = UNIT[rgb[src + 2] ?? 0] ?? 0;
      }
    }
  }

  /** Forgets the painted layout (the planes were overwritten by something else). */
  reset(): void {
    this.painted = undefined;
  }
}

function sameLayout(a: LetterboxGeometry | undefined, b: LetterboxGeometry): boolean {
  return (
    a?.resizedWidth === b.resizedWidth &&
    a.resizedHeight === b.resizedHeight &&
    a.top === b.top &&
    a.left === b.left
  );
}

/** A decoded, resized image waiting to be copied into an {@link InputSlot}. */
export interface ResizedImage {
  readonly geometry: LetterboxGeometry;
  readonly pixels: Uint8Array;
  readonly channels: number;
}

/**
 * Decodes `image` and resizes it to its letterbox inside a `width`×`height` input.
 *
 * The resize is queued on libuv's pool before this returns its promise (with the header read
 * for the original size, when that is not read from the JPEG's headers here), so the image is
 * decoded and resized while the inference thread runs the previous batch, whatever the JS
 * thread does meanwhile.
 * sharp's `fit: 'inside'` rounds sizes as Ultralytics does (checked on 120 size pairs in
 * preprocess.int.spec.ts); the geometry is rebuilt from the size sharp actually produced all the same.
 */
export async function resizeForInput(
  image: ImageInput,
  width: number,
  height: number,
  options: PreprocessOptions = {},
): Promise<ResizedImage> {
  try {
    let source: sharp.Sharp;
    let size: Promise<{ width: number; height: number }>;
    // isView, not instanceof: a Buffer from another realm (vm contexts, jest) is still bytes.
    if (ArrayBuffer.isView(image)) {
      // ignoreIcc: Ultralytics reads images with cv2.imread, which ignores embedded ICC
      // profiles; converting through one changes the pixels and costs a colour transform of
      // the whole decoded image (about half the decode time of bus.jpg).
      source = sharp(image, { failOn: 'error', ignoreIcc: true }).autoOrient();
      // The source size: read from the JPEG's headers when that is certain (no EXIF, so no
      // rotation), which spares a second libvips call per frame; otherwise libvips' header
      // read, where autoOrient swaps width and height for rotated EXIF orientations.
      const plain = plainJpegSize(image);
      size = plain
        ? Promise.resolve(plain)
        : sharp(image)
            .metadata()
            .then((meta) => meta.autoOrient);
    } else {
      const { data, width: w, height: h, channels } = image;
      if (data.length !== w * h * channels) {
        throw new ImageInputError(
          `raw image data has ${data.length} bytes, expected ${w}x${h}x${channels} = ${w * h * channels}`,
        );
      }
      source = sharp(data, { raw: { width: w, height: h, channels } });
      size = Promise.resolve({ width: w, height: h });
    }
    const resized = source
      .removeAlpha()
      .toColourspace('srgb')
      .resize(width, height, {
        fit: 'inside',
        // cv2.INTER_LINEAR is what Ultralytics resizes with.
        kernel: 'linear',
        fastShrinkOnLoad: options.fastShrinkOnLoad ?? false,
      })
      .raw()
      .toBuffer({ resolveWithObject: true });
    const [src, { data, info }] = await Promise.all([size, resized]);
    const geometry = letterboxGeometry(src.width, src.height, width, height, {
      width: info.width,
      height: info.height,
    });
    return { geometry, pixels: data, channels: info.channels };
  } catch (error) {
    if (error instanceof ImageInputError) throw error;
    throw new ImageInputError(
      `cannot decode image: ${(error as Error).message}. Pass JPEG/PNG/WebP bytes or raw RGB with its size.`,
      { cause: error },
    );
  }
}
