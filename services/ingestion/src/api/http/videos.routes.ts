import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import multer from 'multer';
import sharp from 'sharp';
import { z } from 'zod';
import { VIDEO_STATUSES, frameKey, isFinalStatus } from '@framewise/contracts';
import type { ResultRepository, VideoRepository } from '@framewise/db';
import type { VideoStorage } from '@framewise/storage';
import { StorageNotFoundError } from '@framewise/storage';
import {
  IngestionError,
  NotFoundError,
  PayloadTooLargeError,
  UploadTimeoutError,
  ValidationError,
} from '../../errors';
import { frameTimeMs, parseSampling, type SamplingLimits } from '../../media/sampling';
import type { ApiMetrics } from '../metrics';
import { apiKeyIdOf } from '../../auth/guard';
import type { UploadQuota } from '../uploads/upload-quota';
import type { UploadService } from '../uploads/upload-service';
import type { CancelService } from '../videos/cancel-service';
import type { EventHub } from '../videos/event-hub';
import { progressResource, videoResource } from '../videos/video-resource';
import { overlayDetections } from './overlay';
import { StagingStorage, type StagingRequest } from '../uploads/staging-storage';
import { continueNow } from './expect-continue';

/** What the /v1/videos routes need. */
export interface VideoRoutesDeps {
  readonly videos: VideoRepository;
  readonly results: ResultRepository;
  readonly storage: VideoStorage;
  readonly uploads: UploadService;
  /** Per-API-key upload quota (admits each upload before its body is read). */
  readonly quota: UploadQuota;
  readonly cancels: CancelService;
  readonly events: EventHub;
  readonly metrics: ApiMetrics;
  readonly options: {
    readonly maxUploadBytes: number;
    /** Cut an upload whose body stops arriving for this long (ms); 0 or absent = never. */
    readonly uploadIdleTimeoutMs?: number;
    readonly tmpDir: string;
    readonly sampling: SamplingLimits;
    readonly defaultSampling: string;
    readonly models: readonly string[];
    /** How often an SSE stream re-reads progress when no event arrives. */
    readonly ssePollMs: number;
  };
}

/** The upload's form fields; unknown ones are an error (a typo must not pass silently). */
export const UploadFields = z.strictObject({
  camera: z.string().min(1).max(200).optional(),
  recorded_at: z.iso.datetime({ offset: true }).optional(),
  sampling: z.string().max(40).optional(),
  model: z.string().max(200).optional(),
});

export const ListVideosQuery = z.strictObject({
  status: z.enum(VIDEO_STATUSES).optional(),
  camera: z.string().min(1).max(200).optional(),
  cursor: z.string().max(500).optional(),
  limit: z.coerce.number().int().min(1).max(1000).optional(),
});

export const DetectionsQuery = z.strictObject({
  class: z.string().max(2000).optional(),
  min_score: z.coerce.number().min(0).max(1).optional(),
  from_ms: z.coerce.number().int().min(0).optional(),
  to_ms: z.coerce.number().int().min(0).optional(),
  cursor: z.string().max(500).optional(),
  limit: z.coerce.number().int().min(1).max(1000).optional(),
});

export const FrameQuery = z.strictObject({
  overlay: z.enum(['0', '1', 'true', 'false']).optional(),
});
export const DeleteQuery = z.strictObject({ results: z.enum(['keep', 'delete']).optional() });
const VideoId = z.uuid();

/** /v1/videos: upload, list, read, events, detections, frames, cancel. */
export function videoRoutes(deps: VideoRoutesDeps): Router {
  const router = express.Router();
  const { options } = deps;

  const parseMultipart = multer({
    storage: new StagingStorage(options.maxUploadBytes, options.tmpDir),
    // The file size is enforced by StagingStorage (see there why not here).
    limits: { files: 1, fields: 10, fieldSize: 2048, parts: 12 },
  }).single('file');
  const upload = (req: Request, res: Response, next: NextFunction): void => {
    parseMultipart(req, res, (error?: unknown) => {
      next(error === undefined ? undefined : asMultipartError(error));
    });
  };

  router.post(
    '/',
    rejectDeclaredTooLarge(options.maxUploadBytes),
    admitUpload(deps.quota, deps.uploads),
    // Admitted: a client waiting for "100 Continue" may send the body now.
    continueNow(),
    cutStalledUpload(options.uploadIdleTimeoutMs ?? 0),
    withUploadDir(options.tmpDir),
    upload,
    async (req: Request, res: Response) => {
      const file = req.file;
      if (!file) throw new ValidationError('missing_file', 'send the video in the "file" field');
      const fields = parse(UploadFields, req.body ?? {}, 'invalid_fields');
      const sampling = parseSampling(fields.sampling ?? options.defaultSampling, options.sampling);
      if (!sampling.ok) {
        throw new ValidationError('invalid_sampling', `sampling: ${sampling.message}`);
      }
      const model = fields.model ?? options.models[0] ?? '';
      if (!options.models.includes(model)) {
        throw new ValidationError('unknown_model', `unknown model "${model}"`, {
          models: options.models,
        });
      }
      const idempotencyKey = req.get('Idempotency-Key');
      if (idempotencyKey !== undefined && !/^[\x21-\x7e]{1,200}$/.test(idempotencyKey)) {
        throw new ValidationError(
          'invalid_idempotency_key',
          'Idempotency-Key: 1–200 visible ASCII characters',
        );
      }
      const ticket = (req as StagingRequest).uploadTicket;
      const { video, replayed } = await deps.uploads.accept(
        { path: file.path, originalName: file.originalname, sizeBytes: file.size },
        {
          apiKeyId: apiKeyIdOf(res),
          ...(ticket === undefined ? {} : { ticket }),
          sampling: sampling.sampling,
          model,
          ...(fields.camera === undefined ? {} : { cameraId: fields.camera }),
          ...(fields.recorded_at === undefined ? {} : { recordedAt: new Date(fields.recorded_at) }),
          ...(idempotencyKey === undefined ? {} : { idempotencyKey }),
        },
      );
      if (replayed) res.setHeader('Idempotent-Replayed', 'true');
      res.status(202).location(`/v1/videos/${video.id}`).json(videoResource(video));
    },
    (error: unknown, _req: Request, _res: Response, next: NextFunction) => {
      const code =
        error instanceof Error && 'code' in error ? String(error.code) : 'internal_error';
      deps.metrics.rejections.inc({ reason: code === 'LIMIT_FILE_SIZE' ? 'file_too_large' : code });
      next(error);
    },
  );

  router.get('/', async (req: Request, res: Response) => {
    const query = parse(ListVideosQuery, req.query, 'invalid_query');
    const page = await deps.videos.list({
      ...(query.status === undefined ? {} : { status: query.status }),
      ...(query.camera === undefined ? {} : { cameraId: query.camera }),
      ...(query.cursor === undefined ? {} : { cursor: query.cursor }),
      ...(query.limit === undefined ? {} : { limit: query.limit }),
    });
    res.json({
      items: page.items.map((v) => videoResource(v)),
      next_cursor: page.nextCursor ?? null,
    });
  });

  router.get('/:id', async (req: Request, res: Response) => {
    const id = videoId(req);
    const [video, progress] = await Promise.all([deps.videos.get(id), deps.videos.progress(id)]);
    res.json(videoResource(video, progress));
  });

  router.delete('/:id', async (req: Request, res: Response) => {
    const id = videoId(req);
    const query = parse(DeleteQuery, req.query, 'invalid_query');
    const video = await deps.cancels.cancel(id, query.results ?? 'keep');
    if (video === undefined) res.status(204).end();
    else res.json(videoResource(video));
  });

  router.get('/:id/detections', async (req: Request, res: Response) => {
    const id = videoId(req);
    const query = parse(DetectionsQuery, req.query, 'invalid_query');
    await deps.videos.get(id);
    const classes = query.class
      ?.split(',')
      .map((c) => c.trim())
      .filter((c) => c !== '');
    const page = await deps.results.listDetections(id, {
      ...(classes === undefined ? {} : { classes }),
      ...(query.min_score === undefined ? {} : { minScore: query.min_score }),
      ...(query.from_ms === undefined ? {} : { fromMs: query.from_ms }),
      ...(query.to_ms === undefined ? {} : { toMs: query.to_ms }),
      ...(query.cursor === undefined ? {} : { cursor: query.cursor }),
      ...(query.limit === undefined ? {} : { limit: query.limit }),
    });
    res.json({
      items: page.items.map((f) => ({
        frame_index: f.frameIndex,
        time_ms: f.timeMs,
        recorded_at: f.recordedAt?.toISOString() ?? null,
        detections: f.detections,
      })),
      next_cursor: page.nextCursor ?? null,
    });
  });

  router.get('/:id/frames/:index', async (req: Request, res: Response) => {
    const id = videoId(req);
    const index = z.coerce.number().int().min(0).safeParse(req.params.index);
    if (!index.success)
      throw new ValidationError('invalid_frame_index', 'frame index must be an integer ≥ 0');
    const query = parse(FrameQuery, req.query, 'invalid_query');
    const video = await deps.videos.get(id);
    let jpeg: Buffer;
    try {
      jpeg = await deps.storage.getBuffer(frameKey(id, index.data));
    } catch (error) {
      if (error instanceof StorageNotFoundError) {
        throw new NotFoundError('frame_not_found', `video ${id} has no frame ${index.data}`);
      }
      throw error;
    }
    if (query.overlay === '1' || query.overlay === 'true') {
      const timeMs = Math.round(frameTimeMs(video.sampling, video.probe?.fps ?? 1, index.data));
      const page = await deps.results.listDetections(id, {
        fromMs: timeMs,
        toMs: timeMs + 1,
        limit: 1,
      });
      const detections = page.items.find((f) => f.frameIndex === index.data)?.detections ?? [];
      jpeg = await overlayDetections(sharp, jpeg, detections, video.probe ?? undefined);
    }
    res.type('image/jpeg').setHeader('Cache-Control', 'private, max-age=3600');
    res.send(jpeg);
  });

  router.get('/:id/events', async (req: Request, res: Response) => {
    const id = videoId(req);
    await deps.videos.get(id);
    res.writeHead(200, {
      'Content-Type': 'text/event-stream',
      'Cache-Control': 'no-cache',
      Connection: 'keep-alive',
      'X-Accel-Buffering': 'no',
    });
    // An object: handlers and the loop below change it between awaits.
    const state = { closed: false, again: false };
    // A call, not an inline test: events set `again` while the loop awaits.
    const repeat = (): boolean => state.again && !state.closed;
    let last = '';
    let reading: Promise<void> | undefined;
    // Re-reads the state and sends it when it changed; coalesces bursts of events into one read.
    const send = async (): Promise<void> => {
      if (reading) {
        state.again = true;
        return reading;
      }
      reading = (async () => {
        do {
          state.again = false;
          const [video, progress] = await Promise.all([
            deps.videos.get(id),
            deps.videos.progress(id),
          ]);
          const data = JSON.stringify({
            id,
            status: video.status,
            progress: progressResource(video, progress),
            error: video.error,
          });
          if (data !== last && !state.closed) {
            last = data;
            res.write(
              `event: ${isFinalStatus(video.status) ? 'done' : 'progress'}\ndata: ${data}\n\n`,
            );
          }
          if (isFinalStatus(video.status)) state.closed = true;
        } while (repeat());
      })().finally(() => {
        reading = undefined;
      });
      return reading;
    };
    // Sends what changed, and ends the stream as soon as the video is final (the `done`
    // event is the last one a client gets; it must not wait for the next poll to see the end).
    const update = (): void => {
      send().then(
        () => {
          if (state.closed) finish();
        },
        () => undefined,
      );
    };
    const unwatch = await deps.events.watch(id, update);
    const timer = setInterval(() => {
      if (state.closed) {
        finish();
        return;
      }
      update();
      res.write(': keep-alive\n\n');
    }, options.ssePollMs);
    let finished = false;
    const finish = (): void => {
      if (finished) return;
      finished = true;
      state.closed = true;
      clearInterval(timer);
      void unwatch();
      res.end();
    };
    req.on('close', finish);
    await send().catch(() => undefined);
    if (state.closed) finish();
  });

  return router;
}

/** What multipart framing (boundaries, part headers, small fields) adds around the file, at most. */
const MULTIPART_ALLOWANCE = 64 * 1024;

/**
 * The multipart parser (busboy, under multer) reports a malformed body — no boundary, a body
 * that ends before its closing boundary, a broken part header — as a plain Error: the client's
 * mistake, so a 400, not a 500. Our own errors, multer's limit errors and I/O failures while
 * staging (which carry a `syscall`) keep their meaning.
 */
export function asMultipartError(error: unknown): unknown {
  if (error instanceof IngestionError || error instanceof multer.MulterError) return error;
  if (error instanceof Error && !('syscall' in error)) {
    return new ValidationError('bad_multipart', `malformed multipart body: ${error.message}`);
  }
  return error;
}

/** A Content-Length beyond the limit is refused before a byte of the body is read. */
function rejectDeclaredTooLarge(maxBytes: number) {
  const allowance = maxBytes + MULTIPART_ALLOWANCE;
  return (req: Request, _res: Response, next: NextFunction): void => {
    const declared = Number(req.get('content-length') ?? NaN);
    if (Number.isFinite(declared) && declared > allowance) next(new PayloadTooLargeError(maxBytes));
    else next();
  };
}

/**
 * Admits the upload against the API key's quota before a byte of the body is read: a free
 * in-flight slot, and room left for the declared size. The slot is freed when the response
 * closes, whatever happened. A retry of an upload already accepted (same API key and
 * Idempotency-Key) is not counted again: it gets its video even when the quota is used up.
 */
function admitUpload(quota: UploadQuota, uploads: UploadService) {
  return async (req: Request, res: Response, next: NextFunction): Promise<void> => {
    const idempotencyKey = req.get('Idempotency-Key');
    if (
      quota.enabled &&
      idempotencyKey !== undefined &&
      (await uploads.replayOf(apiKeyIdOf(res), idempotencyKey)) !== undefined
    ) {
      next();
      return;
    }
    const declared = Number(req.get('content-length') ?? NaN);
    // The multipart framing around the file counts in Content-Length but not in the quota.
    const fileBytes = Number.isFinite(declared)
      ? Math.max(0, declared - MULTIPART_ALLOWANCE)
      : undefined;
    const ticket = await quota.admit(apiKeyIdOf(res), fileBytes);
    (req as StagingRequest).uploadTicket = ticket;
    res.once('close', () => {
      void ticket.release().catch(() => undefined);
    });
    next();
  };
}

/**
 * Cuts an upload whose body stops arriving for `idleMs` (the server runs without a request
 * timeout, so that multi-gigabyte uploads can take long): a stalled or trickling client would
 * otherwise hold a connection and a staging file forever. The request's own timeout is
 * reset by every read; a listener on the request keeps Node from destroying the socket
 * before the 408 is written. Only while the body is read: the timer is disarmed when it ends.
 */
function cutStalledUpload(idleMs: number) {
  return (req: Request, res: Response, next: NextFunction): void => {
    if (idleMs > 0) {
      req.setTimeout(idleMs, () => {
        if (res.headersSent || req.complete) return;
        next(new UploadTimeoutError(idleMs));
      });
      // Once the body is in, the upload may wait (for ffprobe, storage) as long as it takes:
      // a socket timeout left armed would then close the connection without an answer.
      req.once('end', () => {
        req.setTimeout(0);
      });
    }
    next();
  };
}

/**
 * Stages each upload in a directory of its own, removed when the response closes whatever
 * happened (accepted, rejected, client gone), so no partial file outlives its request.
 */
function withUploadDir(tmpDir: string) {
  return async (req: Request, res: Response, next: NextFunction): Promise<void> => {
    const dir = await mkdtemp(join(tmpDir, 'fw-upload-'));
    (req as StagingRequest).uploadDir = dir;
    res.once('close', () => {
      void rm(dir, { recursive: true, force: true });
    });
    next();
  };
}

function videoId(req: Request): string {
  const parsed = VideoId.safeParse(req.params.id);
  if (!parsed.success)
    throw new NotFoundError('video_not_found', `no video ${String(req.params.id)}`);
  return parsed.data;
}

function parse<T extends z.ZodType>(schema: T, input: unknown, code: string): z.output<T> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => ({
    field: issue.path.join('.') || (issue.code === 'unrecognized_keys' ? issue.keys.join(',') : ''),
    message: issue.message,
  }));
  const unknown = result.error.issues.some((i) => i.code === 'unrecognized_keys');
  throw new ValidationError(
    unknown ? 'unknown_fields' : code,
    problems.map((p) => (p.field ? `${p.field}: ${p.message}` : p.message)).join('; '),
    { errors: problems },
  );
}
