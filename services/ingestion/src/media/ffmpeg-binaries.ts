import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

/** Where the ffmpeg and ffprobe executables are. */
export interface FfmpegBinaries {
  readonly ffmpeg: string;
  readonly ffprobe: string;
}

/** Neither a configured path, the system PATH, nor the npm installer packages had the binary. */
export class FfmpegNotFoundError extends Error {
  constructor(name: string) {
    super(
      `${name} not found: install it (apt-get install ffmpeg), set ${name.toUpperCase()}_PATH, ` +
        `or install @ffmpeg-installer/ffmpeg and @ffprobe-installer/ffprobe`,
    );
    this.name = 'FfmpegNotFoundError';
  }
}

/**
 * Finds ffmpeg and ffprobe: an explicit path first, then the system binary on `PATH`, then the
 * static builds of the optional npm packages `@ffmpeg-installer/ffmpeg` and
 * `@ffprobe-installer/ffprobe` (not installed by default: the system binary is preferred because
 * distributions patch it), else a clear error.
 */
export function resolveFfmpegBinaries(
  options: { ffmpegPath?: string; ffprobePath?: string; searchPath?: string } = {},
): FfmpegBinaries {
  return {
    ffmpeg: resolveOne(
      'ffmpeg',
      options.ffmpegPath,
      options.searchPath,
      '@ffmpeg-installer/ffmpeg',
    ),
    ffprobe: resolveOne(
      'ffprobe',
      options.ffprobePath,
      options.searchPath,
      '@ffprobe-installer/ffprobe',
    ),
  };
}

function resolveOne(
  name: string,
  explicit: string | undefined,
  searchPath: string | undefined,
  npmPackage: string,
): string {
  if (explicit !== undefined) {
    if (!isExecutable(explicit)) throw new FfmpegNotFoundError(name);
    return explicit;
  }
  for (const dir of (searchPath ?? '').split(delimiter)) {
    if (dir === '') continue;
    const candidate = join(dir, name);
    if (isExecutable(candidate)) return candidate;
  }
  try {
    // Optional dependency: loaded only when present.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const installer = require(npmPackage) as { path?: unknown };
    if (typeof installer.path === 'string' && isExecutable(installer.path)) return installer.path;
  } catch {
    // not installed: fall through to the error
  }
  throw new FfmpegNotFoundError(name);
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}
