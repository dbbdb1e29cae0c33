// The displayed size of a JPEG, read from its marker segments on the JS thread, so the detector
// does not queue a second libvips call (sharp's `metadata()`) per frame just to learn the source
// size. Only the plain case is answered: a JPEG whose orientation is certainly 1 because it has
// no EXIF segment at all (frames the extractor stores are such JPEGs). Anything else - EXIF,
// two frame headers, a truncated or odd header - answers undefined, and the caller asks libvips,
// which then decides (or fails) exactly as before.

/** Start-of-frame markers (SOF0–SOF15 less DHT, JPG and DAC), which carry the image size. */
function isStartOfFrame(marker: number): boolean {
  return marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc;
}

const SOI = 0xd8;
const EOI = 0xd9;
const SOS = 0xda;
const APP1 = 0xe1;
/** "Exif": libvips reads orientation from an APP1 segment starting with these bytes. */
const EXIF = [0x45, 0x78, 0x69, 0x66];

/**
 * Width and height of `bytes` as decoded with orientation applied, when it is a JPEG without an
 * EXIF segment whose headers up to the first scan are well formed; undefined otherwise.
 * Never throws. Reads only the segment headers before the first scan (a few hundred bytes).
 */
export function plainJpegSize(bytes: Uint8Array): { width: number; height: number } | undefined {
  if (bytes.length < 4 || bytes[0] !== 0xff || bytes[1] !== SOI) return undefined;
  let size: { width: number; height: number } | undefined;
  let p = 2;
  for (;;) {
    if (bytes[p] !== 0xff) return undefined;
    // Any number of 0xFF fill bytes may precede a marker.
    while (bytes[p] === 0xff) p++;
    if (p >= bytes.length) return undefined;
    const marker = bytes[p++] ?? 0;
    if (marker === SOS) return size;
    if (marker === SOI || marker === EOI || marker === 0x00) return undefined;
    // Restart markers and TEM stand alone; they have no length.
    if ((marker >= 0xd0 && marker <= 0xd7) || marker === 0x01) continue;
    if (p + 2 > bytes.length) return undefined;
    const length = ((bytes[p] ?? 0) << 8) | (bytes[p + 1] ?? 0);
    if (length < 2 || p + length > bytes.length) return undefined;
    if (isStartOfFrame(marker)) {
      // A second frame header is an error libjpeg reports: let it.
      if (size !== undefined || length < 8) return undefined;
      const height = ((bytes[p + 3] ?? 0) << 8) | (bytes[p + 4] ?? 0);
      const width = ((bytes[p + 5] ?? 0) << 8) | (bytes[p + 6] ?? 0);
      // Height 0 means "given later by a DNL marker": not the plain case.
      if (width === 0 || height === 0) return undefined;
      size = { width, height };
    } else if (marker === APP1 && length >= 6 && EXIF.every((b, i) => bytes[p + 2 + i] === b)) {
      return undefined;
    }
    p += length;
  }
}
