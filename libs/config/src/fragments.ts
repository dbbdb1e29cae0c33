import { bool, oneOf, port, text, url } from './fields';
import { secret } from './load';

// Shapes that several services share. A service spreads the ones it needs into its own
// schema, so each service still has exactly one schema and one parse:
//
//   const schema = z.object({ ...logging, ...redis, ...ops, WORKER_BATCH: int({ default: 8 }) });

/** LOG_LEVEL, LOG_FORMAT, SERVICE_INSTANCE. */
export const logging = {
  LOG_LEVEL: oneOf(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], {
    default: 'info',
  }),
  /** json for machines (the default, also in containers); pretty only when a person asks. */
  LOG_FORMAT: oneOf(['json', 'pretty'], { default: 'json' }),
};

/** REDIS_URL and whether to refuse a Redis that could lose jobs. */
export const redis = {
  REDIS_URL: secret(url(['redis:', 'rediss:'], { default: 'redis://127.0.0.1:6379' })),
  /** Refuse to start when Redis runs without AOF or with an evicting maxmemory policy. */
  REDIS_REQUIRE_DURABILITY: bool({ default: false }),
};

/** DATABASE_URL for PostgreSQL. */
export const database = {
  DATABASE_URL: secret(url(['postgres:', 'postgresql:'])),
};

/** The port of the operations endpoints (/healthz, /readyz, /metrics). */
export const ops = {
  OPS_PORT: port({ default: 9100, allowZero: true }),
  OPS_HOST: text({ default: '0.0.0.0' }),
};

/**
 * Where videos and frames live (@framewise/storage's `createVideoStorage` reads this):
 * a shared directory (`local`) or an S3 bucket (`s3`: AWS or an S3-compatible server).
 * Which variables are required depends on STORAGE_BACKEND; `createVideoStorage` says which
 * are missing. S3 credentials left unset fall back to the AWS default chain (instance or pod
 * role, AWS_PROFILE, …).
 */
export const storage = {
  STORAGE_BACKEND: oneOf(['local', 's3'], { default: 'local' }),
  /** The shared directory (STORAGE_BACKEND=local); it must already exist. */
  STORAGE_LOCAL_ROOT: text().optional(),
  /** Unset for AWS S3; the server's URL for S3-compatible storage. */
  S3_ENDPOINT: url(['http:', 'https:']).optional(),
  S3_REGION: text({ default: 'us-east-1' }),
  S3_BUCKET: text().optional(),
  /** `http://host/bucket/key` instead of `http://bucket.host/key`; most S3-compatible servers need it. */
  S3_FORCE_PATH_STYLE: bool({ default: false }),
  S3_ACCESS_KEY_ID: secret(text().optional()),
  S3_SECRET_ACCESS_KEY: secret(text().optional()),
};
