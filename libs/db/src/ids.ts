import { randomBytes } from 'node:crypto';

/**
 * A new UUID version 7 (RFC 9562): 48 bits of Unix milliseconds, then 74 random bits.
 *
 * Why v7 for video ids: ids appear in URLs, so they must not be guessable in sequence (a
 * bigint would be); they are time-ordered, so the primary key b-tree stays append-mostly and
 * `ORDER BY id` is creation order, which gives cursor pagination for free; and they are a
 * native 16-byte `uuid` in Postgres, half the size of a ULID stored as text.
 */
export function newVideoId(now: number = Date.now()): string {
  const bytes = randomBytes(16);
  // 48-bit big-endian timestamp. Split in two because bitwise ops in JS are 32-bit.
  const high = Math.floor(now / 2 ** 16);
  bytes.writeUInt32BE(high >>> 0, 0);
  bytes.writeUInt16BE(now % 2 ** 16, 4);
  bytes[6] = ((bytes[6] ?? 0) & 0x0f) | 0x70; // version 7
  bytes[8] = ((bytes[8] ?? 0) & 0x3f) | 0x80; // RFC 9562 variant
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Whether `value` is a UUID in canonical form. The API checks ids from URLs with it before
 * querying, so a malformed id is a 404 rather than a Postgres cast error.
 */
export function isVideoId(value: string): boolean {
  return UUID.test(value);
}
