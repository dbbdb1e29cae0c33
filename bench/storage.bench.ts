// `npm run bench:storage`: put + get of 2,000 frame-sized (100 KB) objects through each
// VideoStorage adapter, against the same work done with raw calls in the same run:
//   local: raw `fs` doing the same atomic write (temp file, write, fsync, close, rename) and
//          a readFile — the cost of durability is not the adapter's overhead;
//   s3:    raw @aws-sdk/client-s3 PutObject / GetObject with the same client settings.
// S3 is the harness's: S3_ENDPOINT (+ keys) when set, else MinIO in Docker or a private Ceph
// RADOS Gateway. The sides alternate every 20 objects. Last line: JSON with
// overhead_local and overhead_s3 (adapter time / baseline time - 1, the median over turns);
// goal <= 0.10 each.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  CreateBucketCommand,
  GetObjectCommand,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { LocalVolumeStorage, S3Storage } from '@framewise/storage';
import type { VideoStorage } from '@framewise/storage';
import { s3ClientConfigOf, startSharedS3, sweepOrphans } from '@framewise/testing';
import { median, progress, report, round, timeMs } from './support';

const OBJECTS = 2000;
const OBJECT_BYTES = 100 * 1024;
const ROUNDS = 5;
/** Objects per turn when the two sides alternate. */
const BATCH = 20;
// Requests in flight at once: an extractor writes frames as ffmpeg produces them, and a
// worker batch reads several frames; 8 keeps both sides busy without swamping two cores.
const CONCURRENCY = 8;

interface Side {
  put(key: string, body: Buffer): Promise<unknown>;
  get(key: string): Promise<Buffer>;
}

const payloads = Array.from({ length: 16 }, () => randomBytes(OBJECT_BYTES));
const keys = Array.from(
  { length: OBJECTS },
  (_, i) => `videos/bench/frames/${String(i).padStart(6, '0')}.jpg`,
);

async function forAll(
  batch: readonly string[],
  fn: (key: string, i: number) => Promise<unknown>,
): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < batch.length) {
        const i = next++;
        await fn(batch[i] ?? '', i);
      }
    }),
  );
}

/** Puts every key of the batch, then gets every one (checking sizes). */
async function timeBatch(side: Side, prefix: string, batch: readonly string[]): Promise<number> {
  return timeMs(async () => {
    await forAll(batch, (key, i) =>
      side.put(prefix + key, payloads[i % payloads.length] ?? Buffer.alloc(0)),
    );
    await forAll(batch, async (key) => {
      const bytes = await side.get(prefix + key);
      if (bytes.length !== OBJECT_BYTES) throw new Error(`${key}: got ${bytes.length} bytes`);
    });
  });
}

function adapterSide(storage: VideoStorage): Side {
  return { put: (k, b) => storage.put(k, b), get: (k) => storage.getBuffer(k) };
}

function rawFsSide(root: string): Side {
  let counter = 0;
  return {
    put: async (key, body) => {
      const file = path.join(root, key);
      const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${counter++}.tmp`);
      let handle: fs.promises.FileHandle;
      try {
        handle = await fs.promises.open(tmp, 'wx');
      } catch {
        await fs.promises.mkdir(path.dirname(file), { recursive: true });
        handle = await fs.promises.open(tmp, 'wx');
      }
      await handle.writeFile(body);
      await handle.sync();
      await handle.close();
      await fs.promises.rename(tmp, file);
    },
    get: (key) => fs.promises.readFile(path.join(root, key)),
  };
}

function rawSdkSide(client: S3Client, bucket: string): Side {
  return {
    put: (key, body) =>
      client.send(
        new PutObjectCommand({
          Bucket: bucket,
          Key: key,
          Body: body,
          ContentType: 'image/jpeg',
          ContentLength: body.length,
        }),
      ),
    get: async (key) => {
      const out = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      return Buffer.from((await out.Body?.transformToByteArray()) ?? new Uint8Array());
    },
  };
}

async function compare(
  name: string,
  adapter: { side: Side; prefix: string },
  baseline: { side: Side; prefix: string },
): Promise<{ adapter_ms: number; baseline_ms: number; overhead: number }> {
  const batches = Array.from({ length: OBJECTS / BATCH }, (_, b) =>
    keys.slice(b * BATCH, (b + 1) * BATCH),
  );
  // Warm-up (connections, folders, JIT), not measured.
  for (const batch of batches) {
    await timeBatch(adapter.side, adapter.prefix, batch);
    await timeBatch(baseline.side, baseline.prefix, batch);
  }
  // The machine is shared: both sides take turns batch by batch (alternating who goes
  // first), so a burst of someone else's load lands on both, not on one side's whole round.
  const a: number[] = [];
  const b: number[] = [];
  // Per-turn ratios: their median shrugs off a turn that met a burst of someone's fsyncs.
  const ratios: number[] = [];
  for (let r = 0; r < ROUNDS; r += 1) {
    let adapterMs = 0;
    let baselineMs = 0;
    for (const [i, batch] of batches.entries()) {
      let x: number;
      let y: number;
      if ((r + i) % 2 === 0) {
        x = await timeBatch(adapter.side, adapter.prefix, batch);
        y = await timeBatch(baseline.side, baseline.prefix, batch);
      } else {
        y = await timeBatch(baseline.side, baseline.prefix, batch);
        x = await timeBatch(adapter.side, adapter.prefix, batch);
      }
      adapterMs += x;
      baselineMs += y;
      ratios.push(x / y);
    }
    a.push(adapterMs);
    b.push(baselineMs);
    progress(
      `${name} round ${r + 1}: adapter ${Math.round(adapterMs)} ms, baseline ${Math.round(baselineMs)} ms`,
    );
  }
  return {
    adapter_ms: Math.round(median(a)),
    baseline_ms: Math.round(median(b)),
    overhead: round(median(ratios) - 1, 3),
  };
}

async function main(): Promise<void> {
  sweepOrphans();
  progress(
    `${OBJECTS} objects x ${OBJECT_BYTES / 1024} KB, put + get, ${ROUNDS} rounds, ${CONCURRENCY} in flight`,
  );

  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'fw-bench-storage-'));
  let local;
  try {
    local = await compare(
      'local',
      { side: adapterSide(new LocalVolumeStorage({ root })), prefix: 'adapter/' },
      { side: rawFsSide(root), prefix: 'raw/' },
    );
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }

  if (process.argv.includes('--local-only')) {
    report({
      overhead_local: local.overhead,
      local_adapter_ms: local.adapter_ms,
      local_baseline_ms: local.baseline_ms,
    });
    return;
  }
  const s3 = await startSharedS3();
  progress(`S3: ${s3.source} at ${s3.endpoint}`);
  let remote;
  const config = s3ClientConfigOf(s3);
  const raw = new S3Client(config);
  const storage = new S3Storage({
    bucket: s3.bucket ?? `fw-bench-${randomBytes(4).toString('hex')}`,
    clientConfig: config,
  });
  try {
    if (s3.bucket === undefined)
      await raw.send(new CreateBucketCommand({ Bucket: storage.bucket }));
    const runPrefix = `bench-${randomBytes(4).toString('hex')}/`;
    remote = await compare(
      's3',
      { side: adapterSide(storage), prefix: `${runPrefix}adapter/` },
      { side: rawSdkSide(raw, storage.bucket), prefix: `${runPrefix}raw/` },
    );
    await storage.deleteByPrefix(runPrefix);
  } finally {
    storage.close();
    raw.destroy();
    await s3.stop();
  }

  progress('');
  progress('| adapter | adapter ms | baseline ms | overhead |');
  progress('|---|---|---|---|');
  progress(
    `| LocalVolumeStorage vs raw fs | ${local.adapter_ms} | ${local.baseline_ms} | ${local.overhead} |`,
  );
  progress(
    `| S3Storage (${s3.source}) vs raw SDK | ${remote.adapter_ms} | ${remote.baseline_ms} | ${remote.overhead} |`,
  );
  report({
    objects: OBJECTS,
    object_kb: OBJECT_BYTES / 1024,
    rounds: ROUNDS,
    concurrency: CONCURRENCY,
    s3_source: s3.source,
    local_adapter_ms: local.adapter_ms,
    local_baseline_ms: local.baseline_ms,
    s3_adapter_ms: remote.adapter_ms,
    s3_baseline_ms: remote.baseline_ms,
    overhead_local: local.overhead,
    overhead_s3: remote.overhead,
  });
}

main().catch((error: unknown) => {
  process.stderr.write(
    `${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exit(1);
});
