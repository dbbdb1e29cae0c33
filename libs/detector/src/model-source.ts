// Where a model comes from: a file on disk, or a URL downloaded once into a cache directory and
// checked against a sha256 (so a changed or truncated file never runs silently).
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { ModelDownloadError, ModelLoadError } from './errors';

/** A model file, or a URL to fetch it from. */
export type ModelSource =
  | { readonly path: string }
  | {
      readonly url: string;
      /** Expected sha256 of the file, hex. Required: downloads are never trusted unchecked. */
      readonly sha256: string;
      /** Where downloads are kept between runs. */
      readonly cacheDir: string;
      /** Abort the download after this long (default 5 minutes). */
      readonly timeoutMs?: number;
    };

/** The sha256 of a file, hex. */
export async function sha256File(file: string): Promise<string> {
  const hash = createHash('sha256');
  await pipeline(fs.createReadStream(file), hash);
  return hash.digest('hex');
}

/**
 * A local path to the model: `source.path` itself, or the cached download of `source.url`
 * (downloaded now if missing or if the cached file's sha256 does not match).
 */
export async function resolveModelFile(source: ModelSource): Promise<string> {
  if ('path' in source) {
    if (!fs.existsSync(source.path)) {
      throw new ModelLoadError(
        `model file not found: ${source.path}. Point the model path at an existing .onnx file (or configure a model URL with its sha256).`,
        source.path,
      );
    }
    return source.path;
  }
  const expected = source.sha256.toLowerCase();
  if (!/^[0-9a-f]{64}$/.test(expected)) {
    throw new ModelDownloadError(
      `model sha256 must be 64 hex characters, got "${source.sha256}"`,
      source.url,
    );
  }
  // Named by content: two URLs for the same bytes share a file, and a new version never
  // overwrites an old one that another process may still be loading.
  const target = path.join(source.cacheDir, `${expected}.onnx`);
  if (fs.existsSync(target) && (await sha256File(target)) === expected) return target;

  fs.mkdirSync(source.cacheDir, { recursive: true });
  const partial = `${target}.${randomBytes(4).toString('hex')}.part`;
  try {
    const actual = await download(source.url, partial, source.timeoutMs ?? 300_000);
    if (actual !== expected) {
      throw new ModelDownloadError(
        `downloaded model has sha256 ${actual}, expected ${expected}: the URL serves a different file; fix the URL or the sha256`,
        source.url,
      );
    }
    fs.renameSync(partial, target);
    return target;
  } finally {
    fs.rmSync(partial, { force: true });
  }
}

async function download(url: string, file: string, timeoutMs: number): Promise<string> {
  let response: Response;
  try {
    response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  } catch (error) {
    throw new ModelDownloadError(
      `cannot download model from ${url}: ${(error as Error).message}`,
      url,
      { cause: error },
    );
  }
  if (!response.ok || !response.body) {
    throw new ModelDownloadError(
      `cannot download model from ${url}: HTTP ${response.status} ${response.statusText}`,
      url,
    );
  }
  const hash = createHash('sha256');
  const hashing = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      hash.update(chunk);
      callback(null, chunk);
    },
  });
  try {
    await pipeline(
      Readable.fromWeb(response.body as WebReadableStream<Uint8Array>),
      hashing,
      fs.createWriteStream(file),
    );
  } catch (error) {
    throw new ModelDownloadError(
      `download of ${url} failed midway: ${(error as Error).message}`,
      url,
      { cause: error },
    );
  }
  return hash.digest('hex');
}
