import { randomBytes } from 'node:crypto';
import {
  CreateBucketCommand,
  DeleteBucketCommand,
  DeleteObjectsCommand,
  ListBucketsCommand,
  ListObjectsV2Command,
  S3Client,
} from '@aws-sdk/client-s3';
import type { S3ClientConfig } from '@aws-sdk/client-s3';
import { startS3 } from './backend';
import type { InfraSource, S3Server } from './servers';

/**
 * The run's shared S3 server, as test workers see it. Published by the global setup through
 * these variables (like Redis and Postgres in `SHARED_ENV`).
 */
export const SHARED_S3_ENV = {
  endpoint: 'FRAMEWISE_TEST_S3_ENDPOINT',
  region: 'FRAMEWISE_TEST_S3_REGION',
  accessKeyId: 'FRAMEWISE_TEST_S3_ACCESS_KEY_ID',
  secretAccessKey: 'FRAMEWISE_TEST_S3_SECRET_ACCESS_KEY',
  forcePathStyle: 'FRAMEWISE_TEST_S3_FORCE_PATH_STYLE',
  /** Set only when S3_BUCKET named one: tests then share it, each under its own key prefix. */
  bucket: 'FRAMEWISE_TEST_S3_BUCKET',
} as const;

/**
 * Which shared servers the selected test files need, as the test sequencer found them in
 * their `@framewise-needs` docblock pragmas (comma-separated, e.g. `s3`). Unset when the
 * sequencer did not run: the setup then starts everything, to be safe.
 */
export const NEEDS_ENV = 'FRAMEWISE_TEST_NEEDS';

export interface SharedS3 {
  readonly source: InfraSource;
  readonly endpoint: string;
  readonly region: string;
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly forcePathStyle: boolean;
  /** A bucket the tests must share (S3_BUCKET); otherwise each test creates its own. */
  readonly bucket?: string;
}

export interface StartedSharedS3 extends SharedS3 {
  stop(): Promise<void>;
}

/**
 * The run's S3: S3_ENDPOINT with S3_ACCESS_KEY_ID / S3_SECRET_ACCESS_KEY from the environment
 * (nothing started; S3_REGION, S3_FORCE_PATH_STYLE and S3_BUCKET optional), else a private
 * server (MinIO in Docker, or a local RADOS Gateway).
 */
export async function startSharedS3(
  env: NodeJS.ProcessEnv = process.env,
): Promise<StartedSharedS3> {
  const endpoint = nonEmpty(env.S3_ENDPOINT);
  if (endpoint !== undefined) {
    const accessKeyId = nonEmpty(env.S3_ACCESS_KEY_ID);
    const secretAccessKey = nonEmpty(env.S3_SECRET_ACCESS_KEY);
    if (accessKeyId === undefined || secretAccessKey === undefined) {
      throw new Error(
        `S3_ENDPOINT is set (${endpoint}) but S3_ACCESS_KEY_ID or S3_SECRET_ACCESS_KEY is not: set both for the tests, or unset S3_ENDPOINT to let the harness start a server`,
      );
    }
    const bucket = nonEmpty(env.S3_BUCKET);
    return {
      source: 'env',
      endpoint,
      region: nonEmpty(env.S3_REGION) ?? 'us-east-1',
      accessKeyId,
      secretAccessKey,
      forcePathStyle: !/^(false|0|no|off)$/i.test(env.S3_FORCE_PATH_STYLE ?? 'true'),
      ...(bucket === undefined ? {} : { bucket }),
      stop: () => Promise.resolve(),
    };
  }
  const server: S3Server = await startS3();
  return {
    source: server.source,
    endpoint: server.endpoint,
    region: server.region,
    accessKeyId: server.accessKeyId,
    secretAccessKey: server.secretAccessKey,
    forcePathStyle: true,
    stop: () => server.stop(),
  };
}

export function publishSharedS3(s3: SharedS3): void {
  process.env[SHARED_S3_ENV.endpoint] = s3.endpoint;
  process.env[SHARED_S3_ENV.region] = s3.region;
  process.env[SHARED_S3_ENV.accessKeyId] = s3.accessKeyId;
  process.env[SHARED_S3_ENV.secretAccessKey] = s3.secretAccessKey;
  process.env[SHARED_S3_ENV.forcePathStyle] = String(s3.forcePathStyle);
  // Empty means "no shared bucket": each test creates its own.
  process.env[SHARED_S3_ENV.bucket] = s3.bucket ?? '';
}

/** The run's shared S3 server, as published by the global setup. */
export function sharedS3(): SharedS3 {
  const endpoint = process.env[SHARED_S3_ENV.endpoint];
  const accessKeyId = process.env[SHARED_S3_ENV.accessKeyId];
  const secretAccessKey = process.env[SHARED_S3_ENV.secretAccessKey];
  if (!endpoint || !accessKeyId || !secretAccessKey) {
    throw new Error(
      'No shared S3 server in this run. The global setup starts one only when a selected test file asks for it: put `@framewise-needs s3` in a docblock at the top of the *.int.spec.ts file.',
    );
  }
  const bucket = process.env[SHARED_S3_ENV.bucket];
  const sources = JSON.parse(process.env.FRAMEWISE_TEST_SOURCES ?? '{}') as {
    s3?: InfraSource;
  };
  return {
    source: sources.s3 ?? 'env',
    endpoint,
    region: process.env[SHARED_S3_ENV.region] ?? 'us-east-1',
    accessKeyId,
    secretAccessKey,
    forcePathStyle: process.env[SHARED_S3_ENV.forcePathStyle] !== 'false',
    ...(bucket ? { bucket } : {}),
  };
}

/**
 * S3 client settings for a server: path-style, static keys, and checksums only where S3
 * requires them (what S3-compatible servers understand).
 */
export function s3ClientConfigOf(s3: SharedS3 = sharedS3()): S3ClientConfig {
  return {
    endpoint: s3.endpoint,
    region: s3.region,
    forcePathStyle: s3.forcePathStyle,
    credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  };
}

export interface TestBucket {
  /** The bucket to use: a fresh one, or the shared S3_BUCKET. */
  readonly bucket: string;
  /** Put this in front of every key (`t-<label>-<random>/`); no other test uses it. */
  readonly prefix: string;
  /** Client settings for the server (see {@link s3ClientConfigOf}). */
  readonly clientConfig: S3ClientConfig;
  /** Deletes what the test wrote: the bucket it got, or its prefix in a shared bucket. */
  destroy(): Promise<void>;
}

/** Prefix of every bucket the harness creates; the run id follows, so teardown finds its own. */
export const TEST_BUCKET_PREFIX = 'fwt-';

/**
 * A namespace of the run's S3 for one test (file): its own bucket (`fwt-<run>-<random>`) plus
 * a key prefix, or, when S3_BUCKET names a shared bucket, just a key prefix in it.
 */
export async function createTestBucket(label = 'test'): Promise<TestBucket> {
  const s3 = sharedS3();
  const clientConfig = s3ClientConfigOf(s3);
  const safe = label
    .toLowerCase()
    .replace(/[^a-z0-9-]/g, '-')
    .slice(0, 24);
  const prefix = `t-${safe}-${randomBytes(4).toString('hex')}/`;
  const client = new S3Client(clientConfig);
  let bucket = s3.bucket;
  const owned = bucket === undefined;
  if (bucket === undefined) {
    const runId = (process.env.FRAMEWISE_TEST_RUN_ID ?? 'adhoc').toLowerCase();
    bucket = `${TEST_BUCKET_PREFIX}${runId}-${randomBytes(5).toString('hex')}`;
    await client.send(new CreateBucketCommand({ Bucket: bucket }));
  }
  const name = bucket;
  return {
    bucket: name,
    prefix,
    clientConfig,
    destroy: async () => {
      try {
        await emptyBucket(client, name, owned ? undefined : prefix);
        if (owned) await client.send(new DeleteBucketCommand({ Bucket: name }));
      } finally {
        client.destroy();
      }
    },
  };
}

/**
 * Deletes the buckets this run created on a server it did not start (S3_ENDPOINT without
 * S3_BUCKET): global teardown. Returns how many it deleted.
 */
export async function deleteRunBuckets(s3: SharedS3, runId: string): Promise<number> {
  const client = new S3Client(s3ClientConfigOf(s3));
  try {
    const { Buckets = [] } = await client.send(new ListBucketsCommand({}));
    const mine = Buckets.flatMap((b) =>
      b.Name?.startsWith(`${TEST_BUCKET_PREFIX}${runId.toLowerCase()}-`) === true ? [b.Name] : [],
    );
    for (const name of mine) {
      await emptyBucket(client, name, undefined);
      await client.send(new DeleteBucketCommand({ Bucket: name }));
    }
    return mine.length;
  } finally {
    client.destroy();
  }
}

async function emptyBucket(client: S3Client, bucket: string, prefix: string | undefined) {
  for (;;) {
    const page = await client.send(
      new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, MaxKeys: 1000 }),
    );
    const keys = (page.Contents ?? []).flatMap((o) =>
      o.Key === undefined ? [] : [{ Key: o.Key }],
    );
    if (keys.length === 0) return;
    await client.send(
      new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: keys, Quiet: true } }),
    );
  }
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === '' ? undefined : value;
}
