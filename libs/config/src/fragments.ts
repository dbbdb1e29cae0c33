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
