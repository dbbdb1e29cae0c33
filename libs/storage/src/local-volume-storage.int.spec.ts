import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describeVideoStorageConformance } from './conformance.spec-helper';
import {
  InvalidStorageKeyError,
  StorageAccessDeniedError,
  StorageBucketNotFoundError,
} from './errors';
import { LocalVolumeStorage } from './local-volume-storage';

function tempRoot(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'fw-storage-'));
}

describeVideoStorageConformance('LocalVolumeStorage', () => {
  const root = tempRoot();
  return Promise.resolve({
    storage: new LocalVolumeStorage({ root }),
    prefix: 't/',
    destroy: () => fs.promises.rm(root, { recursive: true, force: true }),
  });
});

describe('LocalVolumeStorage on a real filesystem', () => {
  let root: string;
  let storage: LocalVolumeStorage;
  beforeEach(() => {
    root = tempRoot();
    storage = new LocalVolumeStorage({ root });
  });
  afterEach(() => {
    fs.rmSync(root, { recursive: true, force: true });
  });

  it('writes the file at <root>/<key> and leaves no temp files behind', async () => {
    await storage.put('videos/7/frames/000001.jpg', Buffer.from('jpeg'));
    expect(fs.readFileSync(path.join(root, 'videos/7/frames/000001.jpg'), 'utf8')).toBe('jpeg');
    expect(fs.readdirSync(path.join(root, 'videos/7/frames'))).toEqual(['000001.jpg']);
  });

  it('removes the temp file when the body stream fails', async () => {
    const { Readable } = await import('node:stream');
    const failing = new Readable({
      read() {
        this.push(Buffer.alloc(1024));
        this.destroy(new Error('client went away'));
      },
    });
    await expect(storage.put('videos/7/original.mp4', failing)).rejects.toThrow('client went away');
    expect(fs.readdirSync(path.join(root, 'videos/7'))).toEqual([]);
    expect(await storage.exists('videos/7/original.mp4')).toBe(false);
  });

  it('keeps hidden files, temp files and odd names out of listings', async () => {
    await storage.put('v/a.bin', Buffer.from('x'), { contentType: 'video/quicktime' });
    fs.writeFileSync(path.join(root, 'v', '.a.bin.123.tmp'), 'half');
    fs.writeFileSync(path.join(root, 'v', 'with space.bin'), 'x');
    fs.symlinkSync('/etc', path.join(root, 'v', 'etc'));
    const page = await storage.list('v/');
    expect(page.objects.map((o) => o.key)).toEqual(['v/a.bin']);
  });

  it('removes folders a delete leaves empty, as S3 has none', async () => {
    await storage.put('videos/8/frames/000001.jpg', Buffer.from('x'));
    await storage.delete('videos/8/frames/000001.jpg');
    expect(fs.readdirSync(root)).toEqual([]);
  });

  it('refuses a key that is a folder of another key', async () => {
    await storage.put('a/b.bin', Buffer.from('x'));
    await expect(storage.put('a', Buffer.from('x'))).rejects.toBeInstanceOf(InvalidStorageKeyError);
    await expect(storage.put('a/b.bin/c', Buffer.from('x'))).rejects.toBeInstanceOf(
      InvalidStorageKeyError,
    );
  });

  it('fails with StorageBucketNotFoundError when the root is missing, and never creates it', async () => {
    const missing = new LocalVolumeStorage({ root: path.join(root, 'not-mounted') });
    const expectMissing = async (attempt: Promise<unknown>) => {
      const error = await attempt.catch((e: unknown) => e);
      expect(error).toBeInstanceOf(StorageBucketNotFoundError);
      expect((error as Error).message).toContain('STORAGE_LOCAL_ROOT');
    };
    await expectMissing(missing.checkReady());
    await expectMissing(missing.put('a/b.jpg', Buffer.from('x')));
    await expectMissing(missing.getBuffer('a/b.jpg'));
    await expectMissing(missing.exists('a/b.jpg'));
    await expectMissing(missing.list(''));
    await expectMissing(missing.deleteByPrefix('a/'));
    expect(fs.existsSync(path.join(root, 'not-mounted'))).toBe(false);
  });

  // Root reads and writes everything, so permissions can only be tested as another user.
  const asNonRoot = process.getuid?.() === 0 ? it.skip : it;
  asNonRoot('fails with StorageAccessDeniedError on a folder it may not write', async () => {
    fs.mkdirSync(path.join(root, 'locked'), { mode: 0o555 });
    await expect(storage.put('locked/x.bin', Buffer.from('x'))).rejects.toBeInstanceOf(
      StorageAccessDeniedError,
    );
  });
});
