import pino from 'pino';
import type { DestinationStream, Logger, LoggerOptions } from 'pino';

export type { Logger } from 'pino';

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

/**
 * Paths whose values never reach a log line: credentials in headers, configs and payloads.
 * pino's redaction is applied at serialization time, so a child logger inherits it.
 */
export const REDACTED_PATHS: readonly string[] = [
  'password',
  '*.password',
  'secret',
  '*.secret',
  'token',
  '*.token',
  'apiKey',
  '*.apiKey',
  'authorization',
  '*.authorization',
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-api-key"]',
  'res.headers["set-cookie"]',
  'config.DATABASE_URL',
  'config.REDIS_URL',
  'config.S3_SECRET_ACCESS_KEY',
];

export interface LoggerFactoryOptions {
  /** The process's role: api, extractor, worker, reaper… Bound to every line as `service`. */
  readonly service: string;
  readonly level?: LogLevel;
  /** `json` (default) for machines; `pretty` for a person at a terminal. */
  readonly format?: 'json' | 'pretty';
  /** Extra paths to redact, on top of {@link REDACTED_PATHS}. */
  readonly redact?: readonly string[];
  /** Fields bound to every line (instance id, version…). */
  readonly base?: Readonly<Record<string, unknown>>;
  /** Where lines go; standard output by default. Tests pass a stream to read them back. */
  readonly destination?: DestinationStream;
  /**
   * Write each line to standard output before the call returns (JSON format), so that none is
   * lost when the process ends itself with SIGKILL. Default false: lines are written
   * asynchronously, and pino's flush does not wait for a write in progress.
   */
  readonly sync?: boolean;
}

/**
 * The root logger of a process. Build it once in `main.ts`; hand components a child bound to
 * their context with {@link withContext}.
 */
export function createLogger(options: LoggerFactoryOptions): Logger {
  const pinoOptions: LoggerOptions = {
    level: options.level ?? 'info',
    base: { service: options.service, pid: process.pid, ...options.base },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
    redact: { paths: [...REDACTED_PATHS, ...(options.redact ?? [])], censor: '[redacted]' },
    serializers: { err: pino.stdSerializers.err, error: pino.stdSerializers.err },
  };
  if (options.format === 'pretty' && options.destination === undefined) {
    return pino({
      ...pinoOptions,
      transport: { target: 'pino-pretty', options: { translateTime: 'SYS:HH:MM:ss.l' } },
    });
  }
  if (options.destination) return pino(pinoOptions, options.destination);
  if (options.sync) return pino(pinoOptions, pino.destination({ dest: 1, sync: true }));
  return pino(pinoOptions);
}

/** Context that identifies what a log line is about. */
export interface LogContext {
  readonly component?: string;
  readonly videoId?: string;
  readonly jobId?: string;
  readonly requestId?: string;
  readonly consumerId?: string;
  readonly [key: string]: unknown;
}

/** A child logger with `context` bound to every line it writes. */
export function withContext(logger: Logger, context: LogContext): Logger {
  return logger.child(context);
}
