import { InvalidCursorError } from './errors';

// Opaque keyset cursors. The client gets a string it cannot usefully edit; the kind inside
// stops a cursor of one listing from being replayed against another.

/** Encodes the position after the last row of a page. */
export function encodeCursor(kind: string, position: string | number): string {
  return Buffer.from(JSON.stringify([kind, position]), 'utf8').toString('base64url');
}

/** Decodes a cursor made by {@link encodeCursor} for the same `kind`. */
export function decodeCursor(kind: string, cursor: string): string | number {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw new InvalidCursorError(cursor);
  }
  if (!Array.isArray(parsed) || parsed.length !== 2 || parsed[0] !== kind) {
    throw new InvalidCursorError(cursor);
  }
  const position: unknown = parsed[1];
  if (typeof position !== 'string' && typeof position !== 'number') {
    throw new InvalidCursorError(cursor);
  }
  return position;
}

/** One page of a keyset listing. */
export interface Page<T> {
  readonly items: readonly T[];
  /** Pass back to get the next page; absent on the last page. */
  readonly nextCursor?: string;
}
