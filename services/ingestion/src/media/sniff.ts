/** Container families framewise accepts, by the first bytes of the file. */
export type ContainerFamily = 'isobmff' | 'matroska' | 'avi' | 'mpegts' | 'mpegps' | 'flv';

/** Extensions accepted for each family (the upload's extension must agree with its bytes). */
export const EXTENSIONS: Readonly<Record<ContainerFamily, readonly string[]>> = {
  isobmff: ['mp4', 'm4v', 'mov', '3gp'],
  matroska: ['mkv', 'webm'],
  avi: ['avi'],
  mpegts: ['ts', 'm2ts', 'mts'],
  mpegps: ['mpg', 'mpeg'],
  flv: ['flv'],
};

/** Every accepted extension. */
export const ACCEPTED_EXTENSIONS: readonly string[] = Object.values(EXTENSIONS).flat();

/** How many leading bytes {@link sniffContainer} wants. */
export const SNIFF_BYTES = 512;

/**
 * Recognizes a video container from its leading bytes, or undefined. Cheap and certain about
 * what it rejects (text, images, audio formats); ffprobe decides the rest.
 */
export function sniffContainer(head: Buffer): ContainerFamily | undefined {
  if (head.length >= 12 && head.toString('latin1', 4, 8) === 'ftyp') {
    // Audio-only ISO brands are left to ffprobe (no video stream).
    return 'isobmff';
  }
  if (head.length >= 4 && head.readUInt32BE(0) === 0x1a45dfa3) return 'matroska';
  if (
    head.length >= 12 &&
    head.toString('latin1', 0, 4) === 'RIFF' &&
    head.toString('latin1', 8, 11) === 'AVI'
  ) {
    return 'avi';
  }
  if (head.length >= 3 && head.toString('latin1', 0, 3) === 'FLV') return 'flv';
  if (head.length >= 4 && head.readUInt32BE(0) === 0x000001ba) return 'mpegps';
  if (head.length >= 377 && head[0] === 0x47 && head[188] === 0x47 && head[376] === 0x47) {
    return 'mpegts';
  }
  return undefined;
}
