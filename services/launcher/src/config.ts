import { bool, int, oneOf, text, url, z } from '@framewise/config';

/**
 * `npm start`'s variables (flags win over them; see the README). Service variables such as
 * WORKER_BATCH_MAX or LOG_LEVEL are forwarded to the services (see `forwardedServiceEnv`).
 */
export const launcherConfigSchema = z.object({
  /** Where the stack keeps its data; default `<repo>/.framewise`. */
  FRAMEWISE_DATA_DIR: text().optional(),
  /** The ONNX model the workers load. WORKER_MODEL_PATH is accepted as well. */
  MODEL_PATH: text().optional(),
  WORKER_MODEL_PATH: text().optional(),
  /** A model to download when no path is given, with its sha256 (both, or neither). */
  MODEL_URL: url(['https:', 'http:']).optional(),
  MODEL_SHA256: text().optional(),
  /** Download the default model when no path is given (false: never go online). */
  MODEL_DOWNLOAD: bool({ default: true }),
  /** Worker processes; default one per two cores, at least 1. */
  WORKERS: int({ min: 1, max: 64 }).optional(),
  /** The API's port and address. */
  PORT: int({ min: 0, max: 65535, default: 8080 }),
  HOST: text({ default: '127.0.0.1' }),
  /** `local` (frames under the data dir) or `s3` (S3_ENDPOINT, S3_BUCKET, keys). */
  STORAGE_BACKEND: oneOf(['local', 's3'], { default: 'local' }),
  S3_ENDPOINT: url(['http:', 'https:']).optional(),
  S3_BUCKET: text().optional(),
  S3_REGION: text({ default: 'us-east-1' }),
  S3_ACCESS_KEY_ID: text().optional(),
  S3_SECRET_ACCESS_KEY: text().optional(),
});

export type LauncherConfig = z.output<typeof launcherConfigSchema>;

/** Service variables `npm start` passes through from its own environment. */
const FORWARDED = [
  /^LOG_LEVEL$/,
  /^WORKER_(?!MODEL_PATH$)[A-Z_]+$/,
  /^EXTRACT[A-Z_]*$/,
  /^REAPER_[A-Z_]+$/,
  /^UPLOAD_[A-Z_]+$/,
  /^(DEFAULT_SAMPLING|MAX_SAMPLING_FPS|MAX_SAMPLING_EVERY_NTH|MODELS|PROBE_CONCURRENCY)$/,
  /^(RATE_LIMIT_PER_MINUTE|QUEUE_MAX_DELIVERIES|FFMPEG_PATH|FFPROBE_PATH|AUTH_DISABLED)$/,
];

/** The variables of `env` that configure the services themselves (non-empty ones). */
export function forwardedServiceEnv(
  env: Readonly<Record<string, string | undefined>>,
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(env)) {
    if (value === undefined || value === '') continue;
    if (FORWARDED.some((pattern) => pattern.test(name))) out[name] = value;
  }
  return out;
}
