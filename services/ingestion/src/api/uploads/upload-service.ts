import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { extname } from 'node:path';
import type { Redis } from 'ioredis';
import type { VideoJob } from '@framewise/contracts';
import { originalKey, videoJobId, publishVideoEvent } from '@framewise/contracts';
import type { Sampling, Video, VideoRepository } from '@framewise/db';
import { newVideoId } from '@framewise/db';
import type { Logger } from '@framewise/observability';
import type { QueueProducer } from '@framewise/queue';
import type { VideoStorage } from '@framewise/storage';
import {
  IngestionError,
  UnprocessableVideoError,
  UnsupportedMediaError,
  ValidationError,
} from '../../errors';
import { findTruncatedBox } from '../../media/isobmff';
import { probeVideo } from '../../media/probe';
import { ACCEPTED_EXTENSIONS, EXTENSIONS, SNIFF_BYTES, sniffContainer } from '../../media/sniff';
import type { ApiMetrics } from '../metrics';
import type { Semaphore } from './semaphore';
import type { UploadTicket } from './upload-quota';

/** An uploaded file, staged on local disk by multer. */
export interface StagedFile {
  readonly path: string;
  readonly originalName: string;
  readonly sizeBytes: number;
}

/** The upload's validated form fields. */
export interface UploadRequest {
  readonly cameraId?: string;
  readonly recordedAt?: Date;
  readonly sampling: Sampling;
  /** `name@version`, already checked against the configured list. */
  readonly model: string;
  /** The API key the upload is made with: it scopes the Idempotency-Key. */
  readonly apiKeyId: string;
  /** Idempotency-Key header; two API keys sending the same one never see each other's video. */
  readonly idempotencyKey?: string;
  /** The API key's quota hold, taken before the body was read; reserved before storing. */
  readonly ticket?: UploadTicket;
}

/** Limits an upload must respect. */
export interface UploadLimits {
  readonly maxDurationS: number;
  readonly maxDimension: number;
  readonly idempotencyTtlMs: number;
}

/** The upload's outcome: the video, and whether this request created it. */
export interface UploadOutcome {
  readonly video: Video;
  readonly replayed: boolean;
}

/**
 * Turns a staged upload into a video: checks it (extension, leading bytes, ffprobe, limits),
 * stores the original, creates the row (`uploaded`) and enqueues the video job. Each step that
 * fails undoes the earlier ones, so a rejected or failed upload leaves nothing behind.
 */
export class UploadService {
  constructor(
    private readonly videos: VideoRepository,
    private readonly storage: VideoStorage,
    private readonly videoJobs: QueueProducer<VideoJob>,
    private readonly redis: Redis,
    private readonly probeSlots: Semaphore,
    private readonly metrics: ApiMetrics,
    private readonly logger: Logger,
    private readonly options: UploadLimits & {
      readonly ffprobe: string;
      readonly keyPrefix: string;
    },
  ) {}

  /** @throws IngestionError subclasses for everything a client can fix. */
  async accept(file: StagedFile, request: UploadRequest): Promise<UploadOutcome> {
    const idemKey =
      request.idempotencyKey === undefined
        ? undefined
        : idempotencyRedisKey(this.options.keyPrefix, request.apiKeyId, request.idempotencyKey);
    if (idemKey !== undefined) {
      const replay = await this.claimIdempotencyKey(idemKey);
      if (replay) return { video: replay, replayed: true };
    }
    try {
      const video = await this.create(file, request);
      if (idemKey !== undefined) {
        await this.redis.set(idemKey, video.id, 'PX', this.options.idempotencyTtlMs);
      }
      this.metrics.uploads.inc();
      this.metrics.uploadBytes.inc(file.sizeBytes);
      return { video, replayed: false };
    } catch (error) {
      if (idemKey !== undefined) await this.redis.del(idemKey).catch(() => 0);
      throw error;
    }
  }

  /**
   * The video an earlier upload with this API key and Idempotency-Key created, if any: a retry
   * of an accepted upload is answered with it and never counts against the quota again.
   */
  async replayOf(apiKeyId: string, idempotencyKey: string): Promise<Video | undefined> {
    const key = idempotencyRedisKey(this.options.keyPrefix, apiKeyId, idempotencyKey);
    const value = await this.redis.get(key);
    return value === null || value === 'pending' ? undefined : this.videos.find(value);
  }

  private async create(file: StagedFile, request: UploadRequest): Promise<Video> {
    const extension = extname(file.originalName).slice(1).toLowerCase();
    await this.check(file, extension);
    // Counted before anything is stored, so an over-quota upload leaves nothing behind.
    await request.ticket?.reserve(file.sizeBytes);
    const id = newVideoId();
    const key = originalKey(id, extension);
    const [modelName, modelVersion] = splitModel(request.model);
    let created = false;
    try {
      await this.storage.put(key, createReadStream(file.path));
      const video = await this.videos.create({
        id,
        originalFilename: file.originalName.slice(0, 255),
        contentType: 'video/' + extension,
        sizeBytes: file.sizeBytes,
        storageKey: key,
        sampling: request.sampling,
        cameraId: request.cameraId ?? null,
        recordedAt: request.recordedAt ?? null,
        modelName,
        modelVersion,
      });
      created = true;
      await this.videoJobs.enqueueOne({ id: videoJobId(id), group: id, data: { videoId: id } });
      await publishVideoEvent(this.redis, this.options.keyPrefix, {
        videoId: id,
        type: 'status',
        status: 'uploaded',
      }).catch(() => 0);
      return video;
    } catch (error) {
      this.logger.warn({ err: error, videoId: id }, 'upload failed after storing; undoing');
      if (created) await this.videos.delete(id).catch(() => false);
      await this.storage.delete(key).catch(() => undefined);
      await request.ticket?.refund().catch((refundError: unknown) => {
        this.logger.warn({ err: refundError, videoId: id }, 'could not refund the upload quota');
      });
      throw error;
    }
  }

  /** Extension, then the file's own bytes, then ffprobe and the limits. */
  private async check(file: StagedFile, extension: string): Promise<void> {
    if (file.sizeBytes === 0) throw new ValidationError('empty_file', 'the file is empty');
    if (!ACCEPTED_EXTENSIONS.includes(extension)) {
      throw new UnsupportedMediaError(
        'unsupported_extension',
        `".${extension}" is not an accepted video extension`,
        { accepted: ACCEPTED_EXTENSIONS },
      );
    }
    const family = sniffContainer(await readHead(file.path));
    if (family === undefined || !EXTENSIONS[family].includes(extension)) {
      throw new UnsupportedMediaError(
        'unsupported_content',
        `the file's content is not a video container matching ".${extension}"`,
      );
    }
    if (family === 'isobmff') {
      // ffprobe reads only the index: a file cut short after its index would pass it.
      const cut = await findTruncatedBox(file.path);
      if (cut) {
        throw new UnprocessableVideoError(
          'truncated_video',
          `the file is truncated: its "${cut.type}" box at byte ${cut.offset} declares ${cut.declaredBytes} bytes, but the file ends ${cut.missingBytes} bytes short of that (${cut.fileBytes} bytes received); upload the complete file`,
          { box: cut.type, declaredBytes: cut.declaredBytes, missingBytes: cut.missingBytes },
        );
      }
    }
    const outcome = await this.probeSlots.run(() => probeVideo(this.options.ffprobe, file.path));
    if (!outcome.ok) {
      throw outcome.reason === 'no_video_stream'
        ? new UnprocessableVideoError('no_video_stream', outcome.message)
        : new UnprocessableVideoError('undecodable_video', `ffprobe: ${outcome.message}`);
    }
    const { probe } = outcome;
    if (probe.durationS > this.options.maxDurationS) {
      throw new UnprocessableVideoError(
        'video_too_long',
        `the video lasts ${probe.durationS} s; the limit is ${this.options.maxDurationS} s`,
      );
    }
    if (Math.max(probe.width, probe.height) > this.options.maxDimension) {
      throw new UnprocessableVideoError(
        'resolution_too_large',
        `the video is ${probe.width}x${probe.height}; the limit is ${this.options.maxDimension} px a side`,
      );
    }
  }

  /**
   * Claims an Idempotency-Key with SET NX. Returns the video of an earlier upload with the
   * same key; throws 409 while that upload is still running; returns undefined when this
   * request holds the key now.
   */
  private async claimIdempotencyKey(key: string): Promise<Video | undefined> {
    const claimed = await this.redis.set(key, 'pending', 'PX', this.options.idempotencyTtlMs, 'NX');
    if (claimed === 'OK') return undefined;
    const value = await this.redis.get(key);
    if (value !== null && value !== 'pending') {
      const video = await this.videos.find(value);
      if (video) return video;
    }
    throw new IdempotencyConflictError();
  }
}

/** An upload with the same Idempotency-Key is still being processed. */
export class IdempotencyConflictError extends IngestionError {
  readonly status = 409;
  constructor() {
    super(
      'idempotency_in_progress',
      'an upload with this Idempotency-Key is still in progress; retry shortly',
    );
  }
}

/**
 * The Redis key of an Idempotency-Key, scoped by the API key that sent it (a UUID, or
 * `anonymous`: neither contains a colon, so no two (API key, Idempotency-Key) pairs collide).
 */
export function idempotencyRedisKey(
  keyPrefix: string,
  apiKeyId: string,
  idempotencyKey: string,
): string {
  return `${keyPrefix}idempotency:${apiKeyId}:${idempotencyKey}`;
}

function splitModel(model: string): [string, string] {
  const at = model.lastIndexOf('@');
  return [model.slice(0, at), model.slice(at + 1)];
}

async function readHead(path: string): Promise<Buffer> {
  const handle = await open(path, 'r');
  try {
    const buffer = Buffer.alloc(SNIFF_BYTES);
    const { bytesRead } = await handle.read(buffer, 0, SNIFF_BYTES, 0);
    return buffer.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}
