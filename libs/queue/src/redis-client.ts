import type { Cluster, Redis } from 'ioredis';

/**
 * The client the queue is given: a standalone ioredis client, or an ioredis Cluster (every key
 * of one queue shares a hash tag, so every command and script runs in one slot).
 */
export type RedisClient = Redis | Cluster;

/** The subset of a pino logger the queue writes to; pino's Logger satisfies it. */
export interface QueueLogger {
  warn(context: Record<string, unknown>, message: string): void;
  error(context: Record<string, unknown>, message: string): void;
}

/** Drops everything: the default when no logger is given. */
export const silentLogger: QueueLogger = {
  warn: () => undefined,
  error: () => undefined,
};
