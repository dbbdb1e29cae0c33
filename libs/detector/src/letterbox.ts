// Letterbox geometry exactly as Ultralytics computes it (LetterBox with auto=False, center=True,
// scaleup=True — what it uses for fixed-shape ONNX models), and the inverse mapping of boxes and
// keypoints back to original pixels (scale_boxes / scale_coords, then clip).

/** Where an original image sits inside the network input. */
export interface LetterboxGeometry {
  /** Original image size. */
  readonly srcWidth: number;
  readonly srcHeight: number;
  /** Network input size. */
  readonly dstWidth: number;
  readonly dstHeight: number;
  /** Scale applied to the original (same on both axes). */
  readonly gain: number;
  /** Size of the resized image before padding. */
  readonly resizedWidth: number;
  readonly resizedHeight: number;
  /** Padding (gray 114) on each side. */
  readonly top: number;
  readonly bottom: number;
  readonly left: number;
  readonly right: number;
}

/**
 * Python 3's round(): halves go to the even neighbour. Ultralytics rounds with it, and sizes like
 * 0.5-pixel results do occur (e.g. 1 px of padding split in two), so Math.round would drift.
 */
export function pyRound(value: number): number {
  const floor = Math.floor(value);
  const diff = value - floor;
  if (diff > 0.5) return floor + 1;
  if (diff < 0.5) return floor;
  return floor % 2 === 0 ? floor : floor + 1;
}

/**
 * The letterbox of a `srcWidth`×`srcHeight` image into a `dstWidth`×`dstHeight` input.
 * `resized` overrides the computed resized size (when a resizer rounded differently, the padding
 * must centre what it actually produced).
 */
export function letterboxGeometry(
  srcWidth: number,
  srcHeight: number,
  dstWidth: number,
  dstHeight: number,
  resized?: { readonly width: number; readonly height: number },
): LetterboxGeometry {
  if (!(srcWidth > 0 && srcHeight > 0)) {
    throw new RangeError(`image size must be positive, got ${srcWidth}x${srcHeight}`);
  }
  const gain = Math.min(dstHeight / srcHeight, dstWidth / srcWidth);
  // At least one pixel: a 1x2000 strip would otherwise vanish.
  const resizedWidth = resized?.width ?? Math.max(1, pyRound(srcWidth * gain));
  const resizedHeight = resized?.height ?? Math.max(1, pyRound(srcHeight * gain));
  const dw = (dstWidth - resizedWidth) / 2;
  const dh = (dstHeight - resizedHeight) / 2;
  // Ultralytics' ±0.1 puts the odd pixel of padding at the bottom / right.
  return {
    srcWidth,
    srcHeight,
    dstWidth,
    dstHeight,
    gain,
    resizedWidth,
    resizedHeight,
    top: pyRound(dh - 0.1),
    bottom: pyRound(dh + 0.1),
    left: pyRound(dw - 0.1),
    right: pyRound(dw + 0.1),
  };
}

/**
 * The letterbox of an image that is itself a scaled-down copy of a `source`-sized picture (a
 * video frame the extractor stored at the model's size): boxes mapped through the result land
 * in the source's pixels. An image whose shape is not the source's (more than a pixel of
 * rounding apart, e.g. a frame turned a quarter) keeps its own pixels: scaling each axis
 * differently would put every box in the wrong place.
 */
export function scaledToSource(
  geometry: LetterboxGeometry,
  source: { readonly width: number; readonly height: number },
): LetterboxGeometry {
  const { srcWidth: w, srcHeight: h } = geometry;
  const { width: sw, height: sh } = source;
  if (!(sw > 0 && sh > 0) || (sw === w && sh === h)) return geometry;
  if (Math.abs(w * sh - h * sw) > Math.max(sw, sh)) return geometry;
  // One factor for both axes, from the longer side (the one rounding disturbs least).
  const factor = w >= h ? w / sw : h / sh;
  return { ...geometry, srcWidth: sw, srcHeight: sh, gain: geometry.gain * factor };
}

/** Maps an x from network-input pixels to original pixels, clipped to the image. */
export function unletterboxX(geometry: LetterboxGeometry, x: number): number {
  return clip((x - geometry.left) / geometry.gain, geometry.srcWidth);
}

/** Maps a y from network-input pixels to original pixels, clipped to the image. */
export function unletterboxY(geometry: LetterboxGeometry, y: number): number {
  return clip((y - geometry.top) / geometry.gain, geometry.srcHeight);
}

function clip(value: number, max: number): number {
  return value < 0 ? 0 : value > max ? max : value;
}
