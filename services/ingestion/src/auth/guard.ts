import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { Redis } from 'ioredis';
import { RateLimitedError, UnauthorizedError } from '../errors';
import type { ApiKeyStore } from './api-keys';

/** Options of {@link apiGuard}. */
export interface GuardOptions {
  /** Local use only: no key required (every request shares one rate-limit bucket). */
  readonly authDisabled: boolean;
  /** Requests per key per minute; 0 turns rate limiting off. */
  readonly requestsPerMinute: number;
  readonly keyPrefix: string;
}

/** Who shares quotas and idempotency keys when auth is disabled (or no guard runs). */
export const ANONYMOUS_KEY_ID = 'anonymous';

/** The id of the API key the guard authenticated the request with, or {@link ANONYMOUS_KEY_ID}. */
export function apiKeyIdOf(res: Response): string {
  const id: unknown = res.locals.apiKeyId;
  return typeof id === 'string' ? id : ANONYMOUS_KEY_ID;
}

/**
 * Authenticates `/v1` requests with `Authorization: Bearer <key>` and rate-limits them per key
 * with a fixed one-minute window in Redis (INCR + PEXPIRE in one MULTI), so the limit holds
 * across every API replica.
 */
export function apiGuard(keys: ApiKeyStore, redis: Redis, options: GuardOptions): RequestHandler {
  return (req: Request, res: Response, next: NextFunction): void => {
    void (async () => {
      let keyId = ANONYMOUS_KEY_ID;
      if (!options.authDisabled) {
        const match = /^Bearer\s+(\S+)$/i.exec(req.get('authorization') ?? '');
        const record = match?.[1] === undefined ? undefined : await keys.verify(match[1]);
        if (!record) {
          res.setHeader('WWW-Authenticate', 'Bearer');
          throw new UnauthorizedError(
            'unauthorized',
            'send a valid API key as Authorization: Bearer <key>',
          );
        }
        keyId = record.id;
      }
      res.locals.apiKeyId = keyId;
      if (options.requestsPerMinute > 0) {
        const window = Math.floor(Date.now() / 60_000);
        const counter = `${options.keyPrefix}ratelimit:${keyId}:${window}`;
        const replies = await redis.multi().incr(counter).pexpire(counter, 61_000).exec();
        const count = Number(replies?.[0]?.[1] ?? 0);
        res.setHeader('RateLimit-Limit', String(options.requestsPerMinute));
        res.setHeader(
          'RateLimit-Remaining',
          String(Math.max(0, options.requestsPerMinute - count)),
        );
        if (count > options.requestsPerMinute) {
          throw new RateLimitedError(60 - Math.floor((Date.now() / 1000) % 60));
        }
      }
    })().then(
      () => {
        next();
      },
      (error: unknown) => {
        next(error);
      },
    );
  };
}
