import { randomBytes } from 'node:crypto';
import type { BigIntStats, Dirent } from 'node:fs';
import { constants as fsConstants, readFile as readFileWithCallback } from 'node:fs';
import fs from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { contentTypeFor } from './content-types';
import { checkDeletePrefix, existsViaHead, listAllViaPages } from './derived';
import {
  InvalidStorageKeyError,
  StorageAccessDeniedError,
  StorageBucketNotFoundError,
  StorageError,
  StorageInvalidRangeError,
  StorageNetworkError,
  StorageNotFoundError,
} from './errors';
import { isKeyPart, validateKey, validatePrefix } from './keys';
import { DEFAULT_LIST_LIMIT, checkListLimit, checkRange, resolveRange } from './options';
import type {
  ByteRange,
  Download,
  GetOptions,
  ListOptions,
  ListPage,
  ObjectInfo,
  PutOptions,
  StoredObjectStream,
  VideoStorage,
} from './video-storage';

export interface LocalVolumeStorageOptions {
  /**
   * The directory objects live under: a volume every service mounts at the same path. It must
   * exist; the adapter never creates it, so an unmounted volume fails loudly instead of
   * filling the container's own disk.
   */
  readonly root: string;
}

/**
 * {@link VideoStorage} on a directory shared by the services (a compose volume, a
 * ReadWriteMany PVC, NFS). A key maps to the file `<root>/<key>`.
 *
 * Writes go to a hidden temp file in the target's directory, are fsynced, then renamed over
 * the target: readers on any host see the old file or the new one, never a part. A content
 * type other than the one the extension implies is kept in a hidden `.<name>.type` file beside
 * the object. On a filesystem a key cannot be both an object and a folder (`a` and `a/b`);
 * that put fails with {@link InvalidStorageKeyError}.
 */
export class LocalVolumeStorage implements VideoStorage {
  readonly backend = 'local' as const;
  /** Absolute path of the root directory. */
  readonly root: string;

  constructor(options: LocalVolumeStorageOptions) {
    this.root = path.resolve(options.root);
  }

  async put(
    key: string,
    body: Buffer | Uint8Array | Readable,
    options: PutOptions = {},
  ): Promise<ObjectInfo> {
    const file = this.fileOf(validateKey(key));
    const contentType = options.contentType ?? contentTypeFor(key);
    try {
      const tmp = await this.openTemp(file);
      let renamed = false;
      try {
        let size: number;
        let identity: string | undefined;
        try {
          size = await writeAll(tmp.handle, body);
          await tmp.handle.sync();
          // Only a type the extension does not imply needs recording (never for frames).
          if (contentType !== contentTypeFor(key)) {
            identity = identityOf(await tmp.handle.stat({ bigint: true }));
          }
        } finally {
          await tmp.handle.close();
        }
        if (identity !== undefined) await writeTypeFile(file, identity, contentType);
        await fs.rename(tmp.path, file);
        renamed = true;
        return { key, size, contentType, lastModified: new Date() };
      } finally {
        if (!renamed) await fs.rm(tmp.path, { force: true }).catch(() => undefined);
      }
    } catch (error) {
      if (body instanceof Readable && !body.destroyed) body.destroy();
      throw await this.mapError(error, key, 'write');
    }
  }

  async getBuffer(key: string, options: GetOptions = {}): Promise<Buffer> {
    const file = this.fileOf(validateKey(key));
    if (options.range !== undefined) checkRange(options.range);
    try {
      if (options.range === undefined) return await readWholeFile(file);
      const handle = await fs.open(file, 'r');
      try {
        const { size } = await handle.stat();
        const { start, length } = rangeOf(key, options.range, size);
        const buffer = Buffer.allocUnsafe(length);
        let filled = 0;
        while (filled < length) {
          const { bytesRead } = await handle.read(buffer, filled, length - filled, start + filled);
          if (bytesRead === 0) break; // truncated under us: return what is there
          filled += bytesRead;
        }
        return filled === length ? buffer : buffer.subarray(0, filled);
      } finally {
        await handle.close();
      }
    } catch (error) {
      throw await this.mapError(error, key, 'read');
    }
  }

  async getStream(key: string, options: GetOptions = {}): Promise<StoredObjectStream> {
    const file = this.fileOf(validateKey(key));
    if (options.range !== undefined) checkRange(options.range);
    let handle: FileHandle | undefined;
    try {
      handle = await fs.open(file, 'r');
      const stat = await handle.stat({ bigint: true });
      if (!stat.isFile()) throw Object.assign(new Error('not a file'), { code: 'EISDIR' });
      const info = await infoOf(file, key, stat);
      const { start, length } =
        options.range === undefined
          ? { start: 0, length: info.size }
          : rangeOf(key, options.range, info.size);
      // The stream owns the handle from here and closes it when done or destroyed.
      const body =
        length === 0
          ? Readable.from([])
          : handle.createReadStream({ start, end: start + length - 1, autoClose: true });
      if (length === 0) await handle.close();
      handle = undefined;
      return { body, info, length };
    } catch (error) {
      await handle?.close().catch(() => undefined);
      throw await this.mapError(error, key, 'read');
    }
  }

  async head(key: string): Promise<ObjectInfo> {
    const file = this.fileOf(validateKey(key));
    try {
      const stat = await fs.stat(file, { bigint: true });
      if (!stat.isFile()) throw Object.assign(new Error('not a file'), { code: 'EISDIR' });
      return await infoOf(file, key, stat);
    } catch (error) {
      throw await this.mapError(error, key, 'read');
    }
  }

  exists(key: string): Promise<boolean> {
    return existsViaHead(this, key);
  }

  async delete(key: string): Promise<void> {
    const file = this.fileOf(validateKey(key));
    try {
      await unlinkIfPresent(file);
      await unlinkIfPresent(typeFileOf(file));
      await this.pruneEmptyFolders(path.dirname(file));
    } catch (error) {
      throw await this.mapError(error, key, 'delete');
    }
  }

  async deleteByPrefix(prefix: string): Promise<number> {
    checkDeletePrefix(prefix);
    validatePrefix(prefix);
    const { dir, partial } = this.splitPrefix(prefix);
    let deleted = 0;
    try {
      for (const entry of await readDirIfPresent(dir)) {
        if (!entry.name.startsWith(partial) || !isKeyPart(entry.name)) continue;
        const full = path.join(dir, entry.name);
        if (entry.isDirectory()) {
          deleted += await countObjects(full);
          await fs.rm(full, { recursive: true, force: true });
        } else if (entry.isFile()) {
          await unlinkIfPresent(full);
          await unlinkIfPresent(typeFileOf(full));
          deleted += 1;
        }
      }
      await this.pruneEmptyFolders(dir);
    } catch (error) {
      throw await this.mapError(error, prefix, 'delete');
    }
    if (deleted === 0) await this.assertRoot();
    return deleted;
  }

  async list(prefix: string, options: ListOptions = {}): Promise<ListPage> {
    validatePrefix(prefix);
    const limit = checkListLimit(options.limit ?? DEFAULT_LIST_LIMIT);
    const after = options.cursor === undefined ? undefined : validateKey(options.cursor);
    const { dir, partial } = this.splitPrefix(prefix);
    const keys: string[] = [];
    let more = false;
    try {
      await this.assertRoot();
      const base = path.relative(this.root, dir).split(path.sep).join('/');
      for await (const key of walkKeys(dir, base === '' ? '' : `${base}/`, partial, after)) {
        if (keys.length === limit) {
          more = true;
          break;
        }
        keys.push(key);
      }
      const objects: ObjectInfo[] = [];
      for (const key of keys) {
        const file = this.fileOf(key);
        const stat = await fs.stat(file).catch(() => undefined);
        if (stat === undefined) continue; // deleted while we listed
        objects.push({ key, size: stat.size, lastModified: stat.mtime });
      }
      const last = keys.at(-1);
      return more && last !== undefined ? { objects, nextCursor: last } : { objects };
    } catch (error) {
      throw await this.mapError(error, prefix, 'list');
    }
  }

  listAll(prefix: string): AsyncIterable<ObjectInfo> {
    return listAllViaPages((p, options) => this.list(p, options), prefix);
  }

  async download(key: string): Promise<Download> {
    return { kind: 'stream', ...(await this.getStream(key)) };
  }

  async checkReady(): Promise<void> {
    await this.assertRoot();
    try {
      await fs.access(this.root, fsConstants.R_OK | fsConstants.W_OK | fsConstants.X_OK);
    } catch (error) {
      throw await this.mapError(error, '', 'write');
    }
  }

  // --- internals ---------------------------------------------------------------------------

  /** The file of a valid key; refuses, as a second line of defence, any path outside root. */
  private fileOf(key: string): string {
    const file = path.resolve(this.root, key);
    if (!file.startsWith(this.root + path.sep)) {
      throw new InvalidStorageKeyError(key, `it resolves outside the storage root ${this.root}`);
    }
    return file;
  }

  private splitPrefix(prefix: string): { dir: string; partial: string } {
    const slash = prefix.lastIndexOf('/');
    const dir = slash < 0 ? this.root : this.fileOf(prefix.slice(0, slash));
    return { dir, partial: prefix.slice(slash + 1) };
  }

  /** Opens a fresh hidden temp file beside `file`, creating missing folders under root. */
  private async openTemp(file: string): Promise<{ handle: FileHandle; path: string }> {
    const dir = path.dirname(file);
    const tmp = path.join(dir, `.${path.basename(file)}.${randomBytes(6).toString('hex')}.tmp`);
    // Optimistic: the folder usually exists (frames of one video share it), so try the open
    // first and create folders only on ENOENT. A concurrent delete may prune a folder between
    // our mkdir and open, hence the retries.
    for (let attempt = 0; ; attempt += 1) {
      try {
        return { handle: await fs.open(tmp, 'wx', 0o644), path: tmp };
      } catch (error) {
        if (errnoOf(error) !== 'ENOENT' || attempt >= 3) throw error;
        await this.assertRoot();
        await fs.mkdir(dir, { recursive: true });
      }
    }
  }

  /** Removes empty folders from `dir` up to (not including) the root, like S3's lack of them. */
  private async pruneEmptyFolders(dir: string): Promise<void> {
    let current = dir;
    while (current.startsWith(this.root + path.sep)) {
      try {
        await fs.rmdir(current);
      } catch {
        return; // not empty (or already gone, or someone is writing into it): stop
      }
      current = path.dirname(current);
    }
  }

  private async assertRoot(): Promise<void> {
    let isDirectory: boolean;
    try {
      isDirectory = (await fs.stat(this.root)).isDirectory();
    } catch (error) {
      if (errnoOf(error) !== 'ENOENT' && errnoOf(error) !== 'ENOTDIR') {
        throw await this.mapError(error, '', 'read');
      }
      isDirectory = false;
    }
    if (!isDirectory) {
      throw new StorageBucketNotFoundError(
        `local storage root ${this.root} does not exist or is not a directory: check STORAGE_LOCAL_ROOT and that the shared volume is mounted there`,
      );
    }
  }

  private async mapError(
    error: unknown,
    key: string,
    action: 'read' | 'write' | 'delete' | 'list',
  ): Promise<StorageError> {
    if (error instanceof StorageError) return error;
    const code = errnoOf(error);
    const where = `local storage at ${this.root}`;
    switch (code ?? '') {
      case 'ENOENT':
      case 'ENOTDIR':
      case 'EISDIR':
        await this.assertRoot();
        if (action !== 'write') return new StorageNotFoundError(key, where, { cause: error });
        if (code === 'ENOENT') break; // a folder vanished under us: report as is
        return new InvalidStorageKeyError(
          key,
          'on a local volume a key cannot be both an object and a folder (like `a` and `a/b`)',
        );
      case 'EACCES':
      case 'EPERM':
      case 'EROFS':
        return new StorageAccessDeniedError(
          `cannot ${action} ${JSON.stringify(key)} in ${where} (${code}): check that the root and its folders are ${action === 'read' ? 'readable' : 'writable'} by uid ${process.getuid?.() ?? '?'} and the volume is mounted read-write; services sharing it need the same uid or a group-writable tree`,
          key,
          { cause: error },
        );
      case 'ESTALE':
      case 'EIO':
      case 'ENOTCONN':
      case 'ETIMEDOUT':
      case 'EHOSTDOWN':
        return new StorageNetworkError(
          `cannot ${action} ${JSON.stringify(key)} in ${where} (${code}): the volume is unavailable; check the network filesystem or disk behind it`,
          key,
          { cause: error },
        );
      case 'ENOSPC':
      case 'EDQUOT':
        return new StorageError(
          `cannot ${action} ${JSON.stringify(key)} in ${where}: the volume is full (${code})`,
          key,
          { cause: error },
        );
      default:
        break;
    }
    return new StorageError(
      `cannot ${action} ${JSON.stringify(key)} in ${where}: ${error instanceof Error ? error.message : String(error)}`,
      key,
      { cause: error },
    );
  }
}

function rangeOf(key: string, range: ByteRange, size: number): { start: number; length: number } {
  const resolved = resolveRange(range, size);
  if (resolved === undefined) {
    throw new StorageInvalidRangeError(key, `${range.start}-${range.end ?? ''}`, size);
  }
  return resolved;
}

/**
 * Which write of a file this is: inode and nanosecond mtime. A type record names the write it
 * belongs to, so a later put with the default type needs no extra syscall to invalidate it
 * (the rename gives the file a new inode, and a reused inode has a new mtime).
 */
function identityOf(stat: BigIntStats): string {
  return `${stat.ino}:${stat.mtimeNs}`;
}

async function writeTypeFile(file: string, identity: string, contentType: string): Promise<void> {
  const typeFile = typeFileOf(file);
  const tmp = `${typeFile}.${randomBytes(6).toString('hex')}.tmp`;
  await fs.writeFile(tmp, `${identity}\n${contentType}`);
  await fs.rename(tmp, typeFile);
}

/** What head and getStream report: the recorded type if it belongs to this write of the file. */
async function infoOf(file: string, key: string, stat: BigIntStats): Promise<ObjectInfo> {
  let contentType = contentTypeFor(key);
  try {
    const [identity, recorded] = (await fs.readFile(typeFileOf(file), 'utf8')).split('\n');
    if (identity === identityOf(stat) && recorded !== undefined && recorded.trim() !== '') {
      contentType = recorded.trim();
    }
  } catch {
    // no record: the extension's type
  }
  return { key, size: Number(stat.size), contentType, lastModified: stat.mtime };
}

/** `.<name>.type` beside the object: hidden, so never listed or mistaken for an object. */
function typeFileOf(file: string): string {
  return path.join(path.dirname(file), `.${path.basename(file)}.type`);
}

async function writeAll(handle: FileHandle, body: Buffer | Uint8Array | Readable): Promise<number> {
  if (!(body instanceof Readable)) {
    await handle.writeFile(body);
    return body.byteLength;
  }
  let size = 0;
  for await (const chunk of body as AsyncIterable<Buffer | string>) {
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    // writeFile on a handle continues at its current position and loops over short writes.
    await handle.writeFile(bytes);
    size += bytes.byteLength;
  }
  return size;
}

async function unlinkIfPresent(file: string): Promise<void> {
  try {
    await fs.unlink(file);
  } catch (error) {
    const code = errnoOf(error);
    if (code !== 'ENOENT' && code !== 'ENOTDIR') throw error;
  }
}

async function readDirIfPresent(dir: string): Promise<Dirent[]> {
  try {
    return await fs.readdir(dir, { withFileTypes: true });
  } catch (error) {
    const code = errnoOf(error);
    if (code === 'ENOENT' || code === 'ENOTDIR') return [];
    throw error;
  }
}

/** Objects (regular files with key-shaped names) anywhere under `dir`. */
async function countObjects(dir: string): Promise<number> {
  let count = 0;
  for (const entry of await readDirIfPresent(dir)) {
    if (!isKeyPart(entry.name)) continue;
    if (entry.isDirectory()) count += await countObjects(path.join(dir, entry.name));
    else if (entry.isFile()) count += 1;
  }
  return count;
}

/**
 * Keys under `dir` (whose key prefix is `base`), in the byte order S3 lists them, skipping
 * hidden files, symlinks and names that are not key parts. At the top level only names
 * starting with `partial`. Subtrees entirely at or before `after` are not read at all, so a
 * page costs its own size, not the size of everything before it.
 */
async function* walkKeys(
  dir: string,
  base: string,
  partial: string,
  after: string | undefined,
): AsyncGenerator<string> {
  const entries = (await readDirIfPresent(dir))
    .filter((e) => e.name.startsWith(partial) && isKeyPart(e.name))
    .filter((e) => e.isFile() || e.isDirectory())
    // `a/…` sorts after `a.c` in S3's byte order: compare folders with their trailing slash.
    .map((e) => ({ entry: e, sortKey: `${base}${e.name}${e.isDirectory() ? '/' : ''}` }))
    .sort((a, b) => (a.sortKey < b.sortKey ? -1 : a.sortKey > b.sortKey ? 1 : 0));
  for (const { entry, sortKey } of entries) {
    if (entry.isDirectory()) {
      // Skip a folder when everything in it sorts at or before the cursor.
      if (after !== undefined && sortKey < after && !after.startsWith(sortKey)) continue;
      yield* walkKeys(path.join(dir, entry.name), sortKey, '', after);
    } else if (after === undefined || sortKey > after) {
      yield sortKey;
    }
  }
}

function errnoOf(error: unknown): string | undefined {
  return typeof error === 'object' && error !== null && 'code' in error
    ? String(error.code)
    : undefined;
}

/**
 * A whole file, through fs.readFile's callback API: the same open, fstat, read and close on
 * libuv's pool as fs/promises' readFile, without its FileHandle object and promise chain per
 * step, which cost about twice the CPU for a small file (a frame: measured 10–14 µs against
 * 21–37 µs per 1 KB file; a worker reads every frame of every batch this way).
 */
function readWholeFile(file: string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    readFileWithCallback(file, (error, data) => {
      if (error) reject(error);
      else resolve(data);
    });
  });
}
