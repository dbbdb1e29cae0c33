import { bool, duration, fragments, int, list, text, z } from '@framewise/config';
import { DEFAULT_FRAME_MAX_SIZE, DEFAULT_JPEG_QUALITY } from './media/frame-format';

/** Variables both entries share: logs, Redis, Postgres, storage, ffmpeg, queue prefix. */
const common = {
  ...fragments.logging,
  ...fragments.redis,
  ...fragments.database,
  ...fragments.storage,
  /** Prefix of every Redis key (queues, events, rate limits); `fw:` in production. */
  REDIS_KEY_PREFIX: text({ default: 'fw:' }),
  /** Run pending database migrations at start (one process should; the others wait). */
  DATABASE_MIGRATE_ON_START: bool({ default: false }),
  /** Explicit ffmpeg / ffprobe executables; default: PATH, then the npm installer packages. */
  FFMPEG_PATH: text().optional(),
  FFPROBE_PATH: text().optional(),
  /** Where uploads and originals are staged on local disk while they are validated / decoded. */
  INGESTION_TMP_DIR: text().optional(),
};

/** The upload API's configuration (one parse, in `api/main.ts`). */
export const apiConfigSchema = z.object({
  ...common,
  ...fragments.ops,
  PORT: int({ min: 0, max: 65535, default: 8080 }),
  HOST: text({ default: '0.0.0.0' }),
  /** Largest accepted upload, bytes (enforced while the body streams in). Default 2 GiB. */
  UPLOAD_MAX_BYTES: int({ min: 1, default: 2 * 1024 ** 3 }),
  /**
   * An upload whose body stops arriving for this long is cut (408 upload_timeout) and its
   * staging file removed; 0 never cuts. Time between reads, not for the whole upload.
   */
  UPLOAD_IDLE_TIMEOUT: duration({ default: '60s' }),
  /** Longest accepted video, seconds. */
  UPLOAD_MAX_DURATION_S: int({ min: 1, default: 4 * 3600 }),
  /** Largest accepted frame side, pixels (width or height). */
  UPLOAD_MAX_DIMENSION: int({ min: 16, default: 7680 }),
  /** ffprobe runs at once per API process (each upload runs one). */
  PROBE_CONCURRENCY: int({ min: 1, max: 64, default: 4 }),
  /** Sampling when the upload names none (see README: `fps:<rate>`, `every:<n>`, `all`). */
  DEFAULT_SAMPLING: text({ default: 'fps:5' }),
  MAX_SAMPLING_FPS: int({ min: 1, max: 240, default: 60 }),
  MAX_SAMPLING_EVERY_NTH: int({ min: 1, default: 1000 }),
  /** Models uploads may ask for (`name@version`); the first is the default. */
  MODELS: list({ default: ['yolov8n@1'] }),
  /** Local use only: serve /v1 without API keys. */
  AUTH_DISABLED: bool({ default: false }),
  /** Requests per API key per minute (0: no limit). */
  RATE_LIMIT_PER_MINUTE: int({ min: 0, default: 600 }),
  /** Upload quota per API key: bytes accepted per UPLOAD_QUOTA_PERIOD (0: no limit). */
  UPLOAD_QUOTA_BYTES: int({ min: 0, default: 0 }),
  /** Upload quota per API key: videos accepted per UPLOAD_QUOTA_PERIOD (0: no limit). */
  UPLOAD_QUOTA_VIDEOS: int({ min: 0, default: 0 }),
  /** The quota period: fixed windows aligned to multiples of it since the epoch (UTC). */
  UPLOAD_QUOTA_PERIOD: duration({ default: '24h', min: '1s' }),
  /** Uploads one API key may have in flight at once, across all replicas (0: no limit). */
  UPLOAD_MAX_CONCURRENT_PER_KEY: int({ min: 0, default: 0 }),
  /** How long an Idempotency-Key is remembered. */
  IDEMPOTENCY_TTL: duration({ default: '24h' }),
});
export type ApiConfig = z.output<typeof apiConfigSchema>;

/** The extractor's configuration (one parse, in `extractor/main.ts`). */
export const extractorConfigSchema = z.object({
  ...common,
  ...fragments.ops,
  /** Videos extracted at once per process (each runs one ffmpeg). */
  EXTRACTOR_CONCURRENCY: int({ min: 1, max: 16, default: 1 }),
  /** Frames per storage-write / manifest-insert / queue-publish round. */
  EXTRACT_BATCH_SIZE: int({ min: 1, max: 1000, default: 32 }),
  /** An extraction running longer is killed and the video failed. */
  EXTRACT_TIMEOUT: duration({ default: '2h' }),
  /**
   * JPEG quality for ffmpeg's mjpeg encoder (`-q:v`, 1 best … 31 worst). The best by default:
   * frames stored at the model's size lose more to JPEG than big ones (see
   * EXTRACT_FRAME_MAX_SIZE); with frames at the video's size, 3 saves storage.
   */
  EXTRACT_JPEG_QUALITY: int({ min: 1, max: 31, default: DEFAULT_JPEG_QUALITY }),
  /**
   * Largest side of a stored frame, pixels: frames of bigger videos are scaled down to fit,
   * aspect kept (results stay in the video's own pixels). Set it to the detection model's
   * input size (640 for the usual YOLO exports, 1280 for P6 models); 0 stores frames at the
   * video's size.
   */
  EXTRACT_FRAME_MAX_SIZE: int({ min: 0, max: 16_384, default: DEFAULT_FRAME_MAX_SIZE }),
  /** Consumer id for the video queue; a stable one (pod name) recovers its jobs at restart. */
  EXTRACTOR_CONSUMER_ID: text().optional(),
  /**
   * Heartbeat lifetime of an extractor: this long after a crash, the reaper service returns its
   * video jobs to the queue.
   */
  EXTRACTOR_HEARTBEAT_TTL: duration({ default: '15s', min: '100ms' }),
});
export type ExtractorConfig = z.output<typeof extractorConfigSchema>;
