import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import {
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import type {
  GetObjectCommandOutput,
  ListObjectsV2CommandOutput,
  S3ClientConfig,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { contentTypeFor } from './content-types';
import { checkDeletePrefix, existsViaHead, listAllViaPages } from './derived';
import { StorageBucketNotFoundError, StorageError, StorageNotFoundError } from './errors';
import { isKeyPart, validateKey, validatePrefix } from './keys';
import { DEFAULT_LIST_LIMIT, checkListLimit, checkRange } from './options';
import { httpStatusOf, mapS3Error } from './s3-errors';
import type {
  ByteRange,
  Download,
  DownloadOptions,
  GetOptions,
  ListOptions,
  ListPage,
  ObjectInfo,
  PutOptions,
  StoredObjectStream,
  VideoStorage,
} from './video-storage';

const MiB = 1024 * 1024;

/** Tuning shared by both ways of building an {@link S3Storage}. */
export interface S3StorageTuning {
  /** Buffers up to this size go up in one PutObject; larger ones, and streams, multipart. Default 16 MiB. */
  readonly multipartThresholdBytes?: number;
  /** Part size of multipart uploads (S3 minimum 5 MiB). Default 8 MiB. */
  readonly partSizeBytes?: number;
  /** Parts uploaded at once; memory held is about this times the part size. Default 4. */
  readonly uploadConcurrency?: number;
}

/** An {@link S3Storage} built around a client the caller made (and closes). */
export interface S3StorageWithClient extends S3StorageTuning {
  readonly bucket: string;
  readonly client: S3Client;
  /** Where the server is, for error messages (the client's endpoint is not readable back). */
  readonly endpoint?: string;
}

/** An {@link S3Storage} that builds and owns its client from this config. */
export interface S3StorageWithConfig extends S3StorageTuning {
  readonly bucket: string;
  /** Passed to `new S3Client`, after {@link compatibleS3ClientConfig}. */
  readonly clientConfig: S3ClientConfig;
}

export type S3StorageOptions = S3StorageWithClient | S3StorageWithConfig;

/**
 * The client settings that work with AWS S3 and S3-compatible servers alike. Since 3.729 the
 * SDK adds CRC32 checksums to every upload by default; servers that predate that (Ceph, older
 * MinIO, many appliances) either reject the headers or store the aws-chunked framing as part
 * of the object. `WHEN_REQUIRED` sends and checks checksums only where S3 demands them.
 */
export function compatibleS3ClientConfig(config: S3ClientConfig): S3ClientConfig {
  return {
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    ...config,
  };
}

/**
 * {@link VideoStorage} on an S3 bucket: AWS S3 or any S3-compatible server (Ceph RGW, MinIO,
 * …; use path-style addressing for most of those).
 *
 * Buffers up to `multipartThresholdBytes` are one PutObject; bigger buffers and all streams
 * go through @aws-sdk/lib-storage's multipart upload, with bounded memory. Either way the
 * object appears whole or not at all. `download` hands out a presigned GET URL.
 */
export class S3Storage implements VideoStorage {
  readonly backend = 's3' as const;
  readonly bucket: string;
  readonly client: S3Client;
  private readonly ownsClient: boolean;
  private readonly where: string;
  private readonly multipartThreshold: number;
  private readonly partSize: number;
  private readonly concurrency: number;
  // Proven once any call succeeds: then a HEAD 404 means a missing key, not a missing bucket.
  private bucketSeen = false;

  constructor(options: S3StorageOptions) {
    this.bucket = options.bucket;
    if ('client' in options) {
      this.client = options.client;
      this.ownsClient = false;
      this.where = describeWhere(options.bucket, options.endpoint);
    } else {
      this.client = new S3Client(compatibleS3ClientConfig(options.clientConfig));
      this.ownsClient = true;
      const endpoint = options.clientConfig.endpoint;
      this.where = describeWhere(
        options.bucket,
        typeof endpoint === 'string' ? endpoint : undefined,
        typeof options.clientConfig.region === 'string' ? options.clientConfig.region : undefined,
      );
    }
    this.multipartThreshold = options.multipartThresholdBytes ?? 16 * MiB;
    this.partSize = Math.max(options.partSizeBytes ?? 8 * MiB, 5 * MiB);
    this.concurrency = Math.max(1, options.uploadConcurrency ?? 4);
  }

  async put(
    key: string,
    body: Buffer | Uint8Array | Readable,
    options: PutOptions = {},
  ): Promise<ObjectInfo> {
    validateKey(key);
    const contentType = options.contentType ?? contentTypeFor(key);
    if (!(body instanceof Readable) && body.byteLength <= this.multipartThreshold) {
      await this.call('PutObject', key, () =>
        this.client.send(
          new PutObjectCommand({
            Bucket: this.bucket,
            Key: key,
            Body: body,
            ContentType: contentType,
            ContentLength: body.byteLength,
          }),
        ),
      );
      return { key, size: body.byteLength, contentType, lastModified: new Date() };
    }
    let size = body instanceof Readable ? 0 : body.byteLength;
    const upload = new Upload({
      client: this.client,
      params: { Bucket: this.bucket, Key: key, Body: body, ContentType: contentType },
      partSize: this.partSize,
      queueSize: this.concurrency,
      // A failed upload aborts, so no orphaned parts keep costing storage.
      leavePartsOnError: false,
    });
    upload.on('httpUploadProgress', (progress) => {
      if (progress.loaded !== undefined && progress.loaded > size) size = progress.loaded;
    });
    try {
      await this.call('PutObject', key, () => upload.done());
    } catch (error) {
      if (body instanceof Readable && !body.destroyed) body.destroy();
      throw error;
    }
    return { key, size, contentType, lastModified: new Date() };
  }

  async getBuffer(key: string, options: GetOptions = {}): Promise<Buffer> {
    const { body, length } = await this.getStream(key, options);
    const action = 'GetObject';
    try {
      // The length is known from Content-Length: fill one buffer instead of concatenating.
      const out = Buffer.allocUnsafe(length);
      let filled = 0;
      for await (const chunk of body as AsyncIterable<Buffer>) {
        if (filled + chunk.length > length) {
          throw new StorageError(`${key}: the server sent more bytes than Content-Length`, key);
        }
        chunk.copy(out, filled);
        filled += chunk.length;
      }
      if (filled !== length) {
        throw new StorageError(
          `${key}: the body ended after ${filled} of ${length} bytes (connection cut?)`,
          key,
        );
      }
      return out;
    } catch (error) {
      body.destroy();
      throw mapS3Error(error, { where: this.where, bucket: this.bucket, key, action });
    }
  }

  async getStream(key: string, options: GetOptions = {}): Promise<StoredObjectStream> {
    validateKey(key);
    if (options.range !== undefined) checkRange(options.range);
    const range = options.range === undefined ? undefined : rangeHeader(options.range);
    const out = await this.call(
      'GetObject',
      key,
      () => this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key, Range: range })),
      range,
    );
    const body = out.Body;
    if (!(body instanceof Readable)) {
      throw new StorageError(`GetObject ${key}: expected a Node stream body from the SDK`, key);
    }
    const length = out.ContentLength ?? 0;
    return { body, length, info: this.infoOf(key, out, length) };
  }

  async head(key: string): Promise<ObjectInfo> {
    validateKey(key);
    try {
      const out = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key }));
      this.bucketSeen = true;
      return {
        key,
        size: out.ContentLength ?? 0,
        contentType: out.ContentType ?? contentTypeFor(key),
        lastModified: out.LastModified ?? new Date(0),
      };
    } catch (error) {
      throw await this.headError(error, key);
    }
  }

  exists(key: string): Promise<boolean> {
    return existsViaHead(this, key);
  }

  async delete(key: string): Promise<void> {
    validateKey(key);
    await this.call('DeleteObject', key, () =>
      this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key })),
    );
  }

  async deleteByPrefix(prefix: string): Promise<number> {
    checkDeletePrefix(prefix);
    validatePrefix(prefix);
    let deleted = 0;
    let page = await this.listPage(prefix, DEFAULT_LIST_LIMIT, undefined);
    for (;;) {
      // List the next page while this one is being deleted: one round trip per 1000 keys.
      const token = page.NextContinuationToken;
      const next =
        page.IsTruncated === true && token !== undefined
          ? this.listPage(prefix, DEFAULT_LIST_LIMIT, token)
          : undefined;
      next?.catch(() => undefined); // observed below; avoid an unhandled rejection meanwhile
      const keys = (page.Contents ?? []).flatMap((o) => (o.Key === undefined ? [] : [o.Key]));
      if (keys.length > 0) deleted += await this.deleteBatch(prefix, keys);
      if (next === undefined) break;
      page = await next;
    }
    return deleted;
  }

  async list(prefix: string, options: ListOptions = {}): Promise<ListPage> {
    validatePrefix(prefix);
    const limit = checkListLimit(options.limit ?? DEFAULT_LIST_LIMIT);
    const out = await this.listPage(prefix, limit, options.cursor);
    const objects: ObjectInfo[] = [];
    for (const o of out.Contents ?? []) {
      // Objects written by other tools may have keys our rules reject: leave them out, as the
      // local adapter leaves out files that are not key-shaped.
      if (!o.Key?.split('/').every(isKeyPart)) continue;
      objects.push({ key: o.Key, size: o.Size ?? 0, lastModified: o.LastModified ?? new Date(0) });
    }
    const token = out.NextContinuationToken;
    return out.IsTruncated === true && token !== undefined
      ? { objects, nextCursor: token }
      : { objects };
  }

  listAll(prefix: string): AsyncIterable<ObjectInfo> {
    return listAllViaPages((p, options) => this.list(p, options), prefix);
  }

  async download(key: string, options: DownloadOptions = {}): Promise<Download> {
    // Check first, so a missing object is a StorageNotFoundError here (an HTTP 404 from the
    // API) rather than a URL that fails in the client's hands.
    await this.head(key);
    const expiresIn = options.expiresInSeconds ?? 900;
    const disposition =
      options.filename === undefined
        ? undefined
        : `attachment; filename="${options.filename.replace(/["\\\r\n]/g, '_')}"`;
    const url = await this.call('GetObject', key, () =>
      getSignedUrl(
        this.client,
        new GetObjectCommand({
          Bucket: this.bucket,
          Key: key,
          ResponseContentDisposition: disposition,
        }),
        { expiresIn },
      ),
    );
    return { kind: 'url', url, expiresAt: new Date(Date.now() + expiresIn * 1000) };
  }

  async checkReady(): Promise<void> {
    try {
      await this.client.send(new HeadBucketCommand({ Bucket: this.bucket }));
      this.bucketSeen = true;
    } catch (error) {
      // HEAD has no error body: 404 is the bucket, 403 the credentials or policy.
      if (httpStatusOf(error) === 404) throw this.missingBucket(error);
      throw mapS3Error(error, { where: this.where, bucket: this.bucket, action: 'HeadBucket' });
    }
  }

  /** Destroys the client if this storage created it. */
  close(): void {
    if (this.ownsClient) this.client.destroy();
  }

  // --- internals ---------------------------------------------------------------------------

  private async call<T>(
    action: string,
    key: string | undefined,
    fn: () => Promise<T>,
    range?: string,
  ): Promise<T> {
    try {
      const result = await fn();
      this.bucketSeen = true;
      return result;
    } catch (error) {
      throw mapS3Error(error, {
        where: this.where,
        bucket: this.bucket,
        action,
        ...(key === undefined ? {} : { key }),
        ...(range === undefined ? {} : { range }),
      });
    }
  }

  private listPage(
    prefix: string,
    limit: number,
    cursor: string | undefined,
  ): Promise<ListObjectsV2CommandOutput> {
    return this.call('ListObjectsV2', undefined, () =>
      this.client.send(
        new ListObjectsV2Command({
          Bucket: this.bucket,
          Prefix: prefix === '' ? undefined : prefix,
          MaxKeys: limit,
          ContinuationToken: cursor,
        }),
      ),
    );
  }

  private async deleteBatch(prefix: string, keys: readonly string[]): Promise<number> {
    const command = new DeleteObjectsCommand({
      Bucket: this.bucket,
      Delete: { Objects: keys.map((Key) => ({ Key })), Quiet: true },
    });
    addContentMd5(command);
    const out = await this.call('DeleteObjects', undefined, () => this.client.send(command));
    const failure = out.Errors?.[0];
    if (failure !== undefined) {
      const error = Object.assign(new Error(failure.Message ?? failure.Code ?? 'failed'), {
        name: failure.Code ?? 'DeleteFailed',
      });
      throw mapS3Error(error, {
        where: this.where,
        bucket: this.bucket,
        key: failure.Key ?? prefix,
        action: 'DeleteObjects',
      });
    }
    return keys.length;
  }

  private async headError(error: unknown, key: string): Promise<StorageError> {
    if (httpStatusOf(error) !== 404) {
      return mapS3Error(error, {
        where: this.where,
        bucket: this.bucket,
        key,
        action: 'HeadObject',
      });
    }
    if (!this.bucketSeen) {
      // A HEAD 404 has no body to say whether the key or the bucket is missing: ask once.
      try {
        await this.checkReady();
      } catch (bucketError) {
        if (bucketError instanceof StorageError) return bucketError;
        throw bucketError;
      }
    }
    return new StorageNotFoundError(key, this.where, { cause: error });
  }

  private missingBucket(cause: unknown): StorageBucketNotFoundError {
    return new StorageBucketNotFoundError(
      `bucket ${JSON.stringify(this.bucket)} does not exist in ${this.where}: create it, or check S3_BUCKET, S3_ENDPOINT and S3_REGION`,
      undefined,
      { cause },
    );
  }

  private infoOf(key: string, out: GetObjectCommandOutput, length: number): ObjectInfo {
    // For a range, Content-Range ("bytes 0-99/12345") carries the size of the whole object.
    const total = /\/(\d+)$/.exec(out.ContentRange ?? '')?.[1];
    return {
      key,
      size: total === undefined ? length : Number(total),
      contentType: out.ContentType ?? contentTypeFor(key),
      lastModified: out.LastModified ?? new Date(0),
    };
  }
}

function rangeHeader(range: ByteRange): string {
  return `bytes=${range.start}-${range.end ?? ''}`;
}

function describeWhere(bucket: string, endpoint?: string, region?: string): string {
  if (endpoint !== undefined) return `s3://${bucket} at ${endpoint}`;
  return region === undefined ? `s3://${bucket} (AWS)` : `s3://${bucket} (AWS ${region})`;
}

/**
 * DeleteObjects must carry Content-MD5 on AWS's original terms, and older S3-compatible
 * servers (MinIO before 2025, some appliances) still insist on it; newer SDKs send only a CRC32
 * checksum. Adding the MD5 of the XML body before signing satisfies both.
 */
function addContentMd5(command: DeleteObjectsCommand): void {
  command.middlewareStack.add(
    (next) => async (args) => {
      const request = args.request as { headers?: Record<string, string>; body?: unknown };
      if (request.headers !== undefined && typeof request.body === 'string') {
        request.headers['content-md5'] = createHash('md5').update(request.body).digest('base64');
      }
      return next(args);
    },
    { step: 'build', name: 'framewiseDeleteObjectsContentMd5' },
  );
}
