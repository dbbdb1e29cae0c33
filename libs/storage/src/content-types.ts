import path from 'node:path';

// Types of what framewise stores: originals, frames, exports. Anything else is octet-stream
// unless the writer says otherwise.
const BY_EXTENSION: Readonly<Record<string, string>> = {
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.png': 'image/png',
  '.webp': 'image/webp',
  '.mp4': 'video/mp4',
  '.m4v': 'video/x-m4v',
  '.mov': 'video/quicktime',
  '.mkv': 'video/x-matroska',
  '.webm': 'video/webm',
  '.avi': 'video/x-msvideo',
  '.ts': 'video/mp2t',
  '.json': 'application/json',
  '.ndjson': 'application/x-ndjson',
  '.csv': 'text/csv',
  '.txt': 'text/plain',
};

export const DEFAULT_CONTENT_TYPE = 'application/octet-stream';

/** The MIME type a key's extension implies (`application/octet-stream` when unknown). */
export function contentTypeFor(key: string): string {
  return BY_EXTENSION[path.posix.extname(key).toLowerCase()] ?? DEFAULT_CONTENT_TYPE;
}
