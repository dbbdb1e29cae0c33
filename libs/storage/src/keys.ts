import { InvalidStorageKeyError } from './errors';

/** Longest key S3 accepts (in bytes; keys are ASCII, so characters). */
export const MAX_KEY_LENGTH = 1024;
/** Longest file name most filesystems accept; a key part becomes a file or directory name. */
export const MAX_KEY_PART_LENGTH = 255;

// A part starts with a letter, digit or underscore, so no part is `.`, `..`, a hidden file
// (the local adapter keeps its temp files hidden) or an option-looking `-name`. The rest is the
// URL-safe set: no `+` (some servers read it as a space), no `%`, no spaces.
const PART = /^[A-Za-z0-9_][A-Za-z0-9._-]*$/;

/**
 * Checks a key and returns it unchanged, or throws {@link InvalidStorageKeyError} saying which
 * rule it breaks.
 *
 * A key is a relative POSIX path such as `videos/42/frames/000123.jpg`: parts joined by `/`,
 * each part starting with a letter, digit or `_` and made of letters, digits, `.`, `_` and `-`;
 * at most 255 characters a part and 1024 in all. So a key can never be absolute, climb with
 * `..`, carry a NUL or a backslash, or name anything outside the storage root, and it means
 * the same object on every adapter and operating system.
 */
export function validateKey(key: string): string {
  const problem = keyProblem(key);
  if (problem !== undefined) throw new InvalidStorageKeyError(key, problem);
  return key;
}

/**
 * Checks a prefix for listing and deleting: `''` (everything, for listing only) or a key, or
 * the start of one: `videos/42/` (one folder) or `videos/42/frames/0001` (part of a name).
 * Note that `videos/4` also matches `videos/42/…`: end folder prefixes with `/`.
 */
export function validatePrefix(prefix: string): string {
  if (prefix === '') return prefix;
  if (prefix.startsWith('/')) {
    throw new InvalidStorageKeyError(prefix, 'it is absolute; prefixes are relative to the root');
  }
  const body = prefix.endsWith('/') ? prefix.slice(0, -1) : prefix;
  const problem = keyProblem(body);
  if (problem !== undefined) throw new InvalidStorageKeyError(prefix, problem);
  return prefix;
}

/** Whether a single file or folder name may be part of a key (listing skips the others). */
export function isKeyPart(name: string): boolean {
  return name.length <= MAX_KEY_PART_LENGTH && PART.test(name);
}

function keyProblem(key: string): string | undefined {
  if (typeof key !== 'string') return 'it is not a string';
  if (key === '') return 'it is empty';
  if (key.includes('\0')) return 'it contains a NUL byte';
  if (key.includes('\\')) return 'it contains a backslash; separate parts with /';
  if (key.startsWith('/')) return 'it is absolute; keys are relative to the storage root';
  if (key.length > MAX_KEY_LENGTH) return `it is longer than ${MAX_KEY_LENGTH} characters`;
  if (key.endsWith('/')) return 'it ends with /; a key names an object, not a folder';
  for (const part of key.split('/')) {
    if (part === '') return 'it has an empty part (//)';
    if (part === '..') return 'it has a .. part, which would climb out of its folder';
    if (part === '.') return 'it has a . part; write the path without it';
    if (part.length > MAX_KEY_PART_LENGTH) {
      return `a part is longer than ${MAX_KEY_PART_LENGTH} characters`;
    }
    if (part.startsWith('.')) return `part ${JSON.stringify(part)} starts with a dot (hidden)`;
    if (!PART.test(part)) {
      return `part ${JSON.stringify(part)} has a character outside A-Z a-z 0-9 . _ - or starts with one of . -`;
    }
  }
  return undefined;
}
