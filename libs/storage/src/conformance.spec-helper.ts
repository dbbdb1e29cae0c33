import { createHash, randomBytes } from 'node:crypto';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import v8 from 'node:v8';
import vm from 'node:vm';
import { InvalidStorageKeyError, StorageInvalidRangeError, StorageNotFoundError } from './errors';
import type { Download, VideoStorage } from './video-storage';

/** One adapter under test, in a namespace (folder or bucket + prefix) of its own. */
export interface ConformanceSubject {
  readonly storage: VideoStorage;
  /** Put in front of every key, so tests never see each other's objects. */
  readonly prefix: string;
  /** Removes everything the test wrote. */
  destroy(): Promise<void>;
}

const MiB = 1024 * 1024;

/**
 * The behaviour every {@link VideoStorage} adapter must have. Each adapter's
 * `*.int.spec.ts` calls this once with a factory for fresh subjects, against real storage.
 */
export function describeVideoStorageConformance(
  name: string,
  makeSubject: () => Promise<ConformanceSubject>,
): void {
  describe(`VideoStorage conformance: ${name}`, () => {
    let subject: ConformanceSubject;
    let storage: VideoStorage;
    let p: string;

    beforeAll(async () => {
      subject = await makeSubject();
      storage = subject.storage;
      p = subject.prefix;
    });
    afterAll(() => subject.destroy());

    it('is ready', async () => {
      await expect(storage.checkReady()).resolves.toBeUndefined();
    });

    it('round-trips a frame-sized buffer byte for byte, with its size and type', async () => {
      const bytes = randomBytes(100 * 1024);
      const info = await storage.put(`${p}videos/1/frames/000001.jpg`, bytes);
      expect(info).toMatchObject({ key: `${p}videos/1/frames/000001.jpg`, size: bytes.length });
      expect(info.contentType).toBe('image/jpeg');
      const back = await storage.getBuffer(`${p}videos/1/frames/000001.jpg`);
      expect(back.equals(bytes)).toBe(true);
    });

    it('round-trips an empty object', async () => {
      await storage.put(`${p}empty.bin`, Buffer.alloc(0));
      expect((await storage.getBuffer(`${p}empty.bin`)).length).toBe(0);
      expect((await storage.head(`${p}empty.bin`)).size).toBe(0);
      const { body, length } = await storage.getStream(`${p}empty.bin`);
      expect(length).toBe(0);
      expect((await collect(body)).length).toBe(0);
    });

    it('replaces an object on put', async () => {
      await storage.put(`${p}replace.bin`, Buffer.from('first version'));
      await storage.put(`${p}replace.bin`, Buffer.from('second'));
      expect((await storage.getBuffer(`${p}replace.bin`)).toString()).toBe('second');
      expect((await storage.head(`${p}replace.bin`)).size).toBe(6);
    });

    it('stores a stream of unknown length', async () => {
      const chunks = Array.from({ length: 40 }, () => randomBytes(16 * 1024 + 7));
      const info = await storage.put(`${p}streamed.bin`, Readable.from(chunks));
      const expected = Buffer.concat(chunks);
      expect(info.size).toBe(expected.length);
      expect((await storage.getBuffer(`${p}streamed.bin`)).equals(expected)).toBe(true);
    });

    it('keeps the content type given at put, and derives one from the extension otherwise', async () => {
      await storage.put(`${p}types/clip.mp4`, Buffer.from('x'));
      await storage.put(`${p}types/upload.bin`, Buffer.from('x'), {
        contentType: 'video/quicktime',
      });
      await storage.put(`${p}types/data`, Buffer.from('x'));
      expect((await storage.head(`${p}types/clip.mp4`)).contentType).toBe('video/mp4');
      expect((await storage.head(`${p}types/upload.bin`)).contentType).toBe('video/quicktime');
      expect((await storage.head(`${p}types/data`)).contentType).toBe('application/octet-stream');
      const { info, body } = await storage.getStream(`${p}types/upload.bin`);
      body.destroy();
      expect(info.contentType).toBe('video/quicktime');
      // Overwriting without a type goes back to the extension's.
      await storage.put(`${p}types/upload.bin`, Buffer.from('y'));
      expect((await storage.head(`${p}types/upload.bin`)).contentType).toBe(
        'application/octet-stream',
      );
    });

    it('answers head and exists, and says not found for a missing key', async () => {
      await storage.put(`${p}here.txt`, Buffer.from('hello'));
      const info = await storage.head(`${p}here.txt`);
      expect(info).toMatchObject({ key: `${p}here.txt`, size: 5, contentType: 'text/plain' });
      expect(info.lastModified.getTime()).toBeGreaterThan(Date.now() - 10 * 60_000);
      expect(await storage.exists(`${p}here.txt`)).toBe(true);
      expect(await storage.exists(`${p}not-here.txt`)).toBe(false);
      await expect(storage.head(`${p}not-here.txt`)).rejects.toBeInstanceOf(StorageNotFoundError);
      await expect(storage.getBuffer(`${p}not-here.txt`)).rejects.toBeInstanceOf(
        StorageNotFoundError,
      );
      await expect(storage.getStream(`${p}not-here.txt`)).rejects.toBeInstanceOf(
        StorageNotFoundError,
      );
      await expect(storage.download(`${p}not-here.txt`)).rejects.toBeInstanceOf(
        StorageNotFoundError,
      );
      // A folder is not an object.
      await storage.put(`${p}folder/inside.txt`, Buffer.from('x'));
      expect(await storage.exists(`${p}folder`)).toBe(false);
    });

    it('reads byte ranges, clamping the end and refusing a start past the end', async () => {
      const bytes = randomBytes(1000);
      await storage.put(`${p}range.bin`, bytes);
      const key = `${p}range.bin`;
      expect(
        (await storage.getBuffer(key, { range: { start: 10, end: 19 } })).equals(
          bytes.subarray(10, 20),
        ),
      ).toBe(true);
      expect(
        (await storage.getBuffer(key, { range: { start: 990 } })).equals(bytes.subarray(990)),
      ).toBe(true);
      expect(
        (await storage.getBuffer(key, { range: { start: 995, end: 5000 } })).equals(
          bytes.subarray(995),
        ),
      ).toBe(true);
      expect(
        (await storage.getBuffer(key, { range: { start: 0, end: 0 } })).equals(
          bytes.subarray(0, 1),
        ),
      ).toBe(true);
      const { body, length, info } = await storage.getStream(key, {
        range: { start: 100, end: 199 },
      });
      expect(length).toBe(100);
      expect(info.size).toBe(1000);
      expect((await collect(body)).equals(bytes.subarray(100, 200))).toBe(true);
      await expect(storage.getBuffer(key, { range: { start: 1000 } })).rejects.toBeInstanceOf(
        StorageInvalidRangeError,
      );
      await expect(storage.getBuffer(key, { range: { start: 5, end: 4 } })).rejects.toThrow(
        RangeError,
      );
    });

    it('deletes one object; deleting a missing one is fine', async () => {
      await storage.put(`${p}gone.bin`, Buffer.from('x'));
      await storage.delete(`${p}gone.bin`);
      expect(await storage.exists(`${p}gone.bin`)).toBe(false);
      await expect(storage.delete(`${p}gone.bin`)).resolves.toBeUndefined();
      await expect(storage.delete(`${p}never/was.bin`)).resolves.toBeUndefined();
    });

    it('deletes by prefix: only that folder, and says how many', async () => {
      const keys = [
        ...Array.from(
          { length: 30 },
          (_, i) => `${p}del/v1/frames/${String(i).padStart(6, '0')}.jpg`,
        ),
        `${p}del/v1/original.mp4`,
      ];
      const kept = [`${p}del/v10/frames/000000.jpg`, `${p}del/v1.json`, `${p}del/v2/original.mp4`];
      await Promise.all([...keys, ...kept].map((k) => storage.put(k, Buffer.from(k))));
      expect(await storage.deleteByPrefix(`${p}del/v1/`)).toBe(keys.length);
      for (const k of keys.slice(0, 3)) expect(await storage.exists(k)).toBe(false);
      for (const k of kept) expect(await storage.exists(k)).toBe(true);
      expect(await storage.deleteByPrefix(`${p}del/v1/`)).toBe(0);
      // A partial name matches like S3: `v1` takes v1.json and v10/ too.
      expect(await storage.deleteByPrefix(`${p}del/v1`)).toBe(2);
      expect(await storage.exists(`${p}del/v2/original.mp4`)).toBe(true);
      await expect(storage.deleteByPrefix('')).rejects.toBeInstanceOf(InvalidStorageKeyError);
    });

    it('lists by prefix in key order, page by page', async () => {
      const keys = Array.from(
        { length: 25 },
        (_, i) => `${p}list/a/${String(i).padStart(3, '0')}.jpg`,
      );
      // Byte order: `a.c` < `a/…` < `a0` ('.' < '/' < '0'), which a naive directory walk gets wrong.
      const tricky = [`${p}list/a.c`, `${p}list/a0`, `${p}list/b/deep/er/x.bin`];
      await Promise.all([...keys, ...tricky].map((k) => storage.put(k, Buffer.from('12345'))));
      await storage.put(`${p}listx/other.bin`, Buffer.from('x'));

      const seen: string[] = [];
      let cursor: string | undefined;
      let pages = 0;
      do {
        const page = await storage.list(`${p}list/`, { limit: 10, ...(cursor ? { cursor } : {}) });
        expect(page.objects.length).toBeLessThanOrEqual(10);
        seen.push(...page.objects.map((o) => o.key));
        for (const o of page.objects) expect(o.size).toBe(5);
        cursor = page.nextCursor;
        pages += 1;
      } while (cursor !== undefined);
      const expected = [...keys, ...tricky].sort();
      expect(seen).toEqual(expected);
      expect(pages).toBe(3);

      const all: string[] = [];
      for await (const o of storage.listAll(`${p}list/a/01`)) all.push(o.key);
      expect(all).toEqual(keys.slice(10, 20));
      expect((await storage.list(`${p}nothing-here/`)).objects).toEqual([]);
    });

    it('rejects bad keys in every method before touching storage', async () => {
      for (const bad of ['../escape', '/etc/passwd', 'a/../../b', 'a\\b', 'nul\0byte', 'a//b']) {
        await expect(storage.put(bad, Buffer.from('x'))).rejects.toBeInstanceOf(
          InvalidStorageKeyError,
        );
        await expect(storage.getBuffer(bad)).rejects.toBeInstanceOf(InvalidStorageKeyError);
        await expect(storage.getStream(bad)).rejects.toBeInstanceOf(InvalidStorageKeyError);
        await expect(storage.head(bad)).rejects.toBeInstanceOf(InvalidStorageKeyError);
        await expect(storage.exists(bad)).rejects.toBeInstanceOf(InvalidStorageKeyError);
        await expect(storage.delete(bad)).rejects.toBeInstanceOf(InvalidStorageKeyError);
        await expect(storage.download(bad)).rejects.toBeInstanceOf(InvalidStorageKeyError);
      }
      await expect(storage.list('../')).rejects.toBeInstanceOf(InvalidStorageKeyError);
      await expect(storage.deleteByPrefix('/')).rejects.toBeInstanceOf(InvalidStorageKeyError);
    });

    it('hands out a download that yields the object', async () => {
      const bytes = randomBytes(50_000);
      await storage.put(`${p}dl/original.mp4`, bytes);
      const download = await storage.download(`${p}dl/original.mp4`, { filename: 'clip "1".mp4' });
      expect((await fetchDownload(download)).equals(bytes)).toBe(true);
    });

    it('never shows a reader a partly written object', async () => {
      const [first, second] = [randomBytes(512 * 1024), randomBytes(512 * 1024)];
      const key = `${p}atomic.bin`;
      await storage.put(key, first);
      let reads = 0;
      const state = { writing: true };
      const writer = (async () => {
        for (let i = 1; i <= 12; i += 1) await storage.put(key, i % 2 === 0 ? first : second);
        state.writing = false;
      })();
      while (state.writing) {
        const got = await storage.getBuffer(key);
        expect(got.equals(first) || got.equals(second)).toBe(true);
        reads += 1;
      }
      await writer;
      expect(reads).toBeGreaterThan(0);
    });

    it('uploads 50 MB from a stream and streams it back with flat memory', async () => {
      const size = 50 * MiB;
      const key = `${p}big/original.mp4`;
      const uploadHash = createHash('sha256');
      const info = await storage.put(key, pseudoRandomStream(size, uploadHash));
      expect(info.size).toBe(size);
      expect((await storage.head(key)).size).toBe(size);

      // Live memory, measured after a full GC at each sample: what a buffering
      // implementation would hold (the whole object) and a streaming one would not.
      const gc = exposeGc();
      gc();
      const live = () => {
        const m = process.memoryUsage();
        return m.heapUsed + m.external + m.arrayBuffers;
      };
      const before = { live: live(), rss: process.memoryUsage().rss };
      let peakLive = before.live;
      let peakRss = before.rss;
      let sinceSample = 0;
      const downloadHash = createHash('sha256');
      let received = 0;
      const { body, length } = await storage.getStream(key);
      expect(length).toBe(size);
      await pipeline(
        body,
        new Writable({
          write(chunk: Buffer, _encoding, done) {
            downloadHash.update(chunk);
            received += chunk.length;
            sinceSample += chunk.length;
            if (sinceSample >= 4 * MiB) {
              sinceSample = 0;
              peakRss = Math.max(peakRss, process.memoryUsage().rss);
              gc();
              peakLive = Math.max(peakLive, live());
            }
            done();
          },
        }),
      );
      expect(received).toBe(size);
      expect(downloadHash.digest('hex')).toBe(uploadHash.digest('hex'));
      const liveGrowth = peakLive - before.live;
      const rssGrowth = peakRss - before.rss;
      console.log(
        `[${name}] streamed ${size / MiB} MiB: live memory +${(liveGrowth / MiB).toFixed(1)} MiB, RSS +${(rssGrowth / MiB).toFixed(1)} MiB`,
      );
      // A buffering implementation holds the whole object (+50 MiB). Streaming measured +0 to
      // +8 MiB here depending on machine load (read-ahead and GC timing), so the bound sits
      // well clear of both: a quarter of the object.
      expect(liveGrowth).toBeLessThan(size / 4);
      expect(rssGrowth).toBeLessThan(size / 2);
    });
  });
}

/** The V8 garbage collector as a function, without starting node with --expose-gc. */
function exposeGc(): () => void {
  v8.setFlagsFromString('--expose-gc');
  return vm.runInNewContext('gc') as () => void;
}

/** Fetches what a Download points at: follows a URL, or drains the stream. */
export async function fetchDownload(download: Download): Promise<Buffer> {
  if (download.kind === 'stream') return collect(download.body);
  const response = await fetch(download.url);
  if (!response.ok)
    throw new Error(`GET ${download.url}: ${response.status} ${await response.text()}`);
  return Buffer.from(await response.arrayBuffer());
}

async function collect(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream as AsyncIterable<Buffer>) chunks.push(chunk);
  return Buffer.concat(chunks);
}

/** `size` random bytes made a chunk at a time (no memory held), fed into `hash` on the way. */
function pseudoRandomStream(size: number, hash: ReturnType<typeof createHash>): Readable {
  let produced = 0;
  return new Readable({
    read() {
      if (produced >= size) {
        this.push(null);
        return;
      }
      const chunk = randomBytes(Math.min(256 * 1024, size - produced));
      hash.update(chunk);
      produced += chunk.length;
      this.push(chunk);
    },
  });
}
