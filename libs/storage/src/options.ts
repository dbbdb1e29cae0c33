import type { ByteRange } from './video-storage';

/** Page size when the caller names none: S3's own maximum. */
export const DEFAULT_LIST_LIMIT = 1000;

/** Checks a list page size: a whole number from 1 to 1000 (S3 returns at most 1000). */
export function checkListLimit(limit: number): number {
  if (!Number.isInteger(limit) || limit < 1 || limit > 1000) {
    throw new RangeError(`list limit must be a whole number from 1 to 1000, got ${limit}`);
  }
  return limit;
}

/**
 * Where a range starts and how many bytes it covers in an object of `size` bytes, with `end`
 * clamped to the last byte; undefined when it starts at or past the end (HTTP 416).
 */
export function resolveRange(
  range: ByteRange,
  size: number,
): { start: number; length: number } | undefined {
  checkRange(range);
  if (range.start >= size) return undefined;
  const end = Math.min(range.end ?? size - 1, size - 1);
  return { start: range.start, length: end - range.start + 1 };
}

/** Rejects ranges that could never be valid, whatever the object: a programming error. */
export function checkRange(range: ByteRange): void {
  const { start, end } = range;
  if (!Number.isSafeInteger(start) || start < 0) {
    throw new RangeError(`range start must be a whole number >= 0, got ${start}`);
  }
  if (end !== undefined && (!Number.isSafeInteger(end) || end < start)) {
    throw new RangeError(`range end must be a whole number >= start (${start}), got ${end}`);
  }
}
