import { randomUUID } from 'node:crypto';
import type { ErrorRequestHandler, Request, RequestHandler, Response } from 'express';
import multer from 'multer';
import { InvalidCursorError, VideoNotFoundError } from '@framewise/db';
import type { Logger } from '@framewise/observability';
import {
  IngestionError,
  NotFoundError,
  PayloadTooLargeError,
  UploadQuotaError,
  UploadTimeoutError,
  ValidationError,
} from '../../errors';
import { bodyMayArrive } from './expect-continue';

/** An RFC 9457 problem details body, with framewise's stable `code` and the logged error id. */
export interface Problem {
  readonly type: string;
  readonly title: string;
  readonly status: number;
  readonly detail: string;
  readonly code: string;
  readonly errorId: string;
  readonly instance: string;
  readonly [extension: string]: unknown;
}

const TITLES: Readonly<Record<number, string>> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  408: 'Request Timeout',
  409: 'Conflict',
  413: 'Content Too Large',
  415: 'Unsupported Media Type',
  422: 'Unprocessable Content',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

/** Routes nobody matched: a problem+json 404 like every other error. */
export function notFoundHandler(): RequestHandler {
  return (req, _res, next) => {
    next(new NotFoundError('route_not_found', `no route ${req.method} ${req.path}`));
  };
}

/**
 * The one place errors become HTTP answers: typed errors keep their status and code, multer's
 * limit errors become 400/413, library errors that mean "not found" or "bad cursor" map here,
 * and anything else is a 500 whose details stay in the log under the same error id.
 */
export function problemHandler(logger: Logger, sizeLimitBytes: number): ErrorRequestHandler {
  return (error: unknown, req, res, next) => {
    if (res.headersSent) {
      next(error);
      return;
    }
    const known = toIngestionError(error, sizeLimitBytes);
    const errorId = randomUUID();
    const status = known?.status ?? 500;
    if (status >= 500) logger.error({ err: error, errorId, path: req.path }, 'request failed');
    else logger.info({ errorId, code: known?.code, path: req.path }, 'request rejected');
    const body: Problem = {
      type: `https://framewise.dev/problems/${known?.code ?? 'internal_error'}`,
      title: TITLES[status] ?? 'Error',
      status,
      detail: known?.message ?? 'an unexpected error occurred; the logs have it under errorId',
      code: known?.code ?? 'internal_error',
      errorId,
      instance: req.originalUrl,
      ...known?.details,
    };
    if (known?.retryAfterS !== undefined) res.setHeader('Retry-After', String(known.retryAfterS));
    res.status(status).type('application/problem+json');
    const payload = JSON.stringify(body);
    // Possibly answered before the body was read (too large, over quota, stalled): do not
    // drain the rest, and do not reset the connection under the answer either.
    if (
      known instanceof PayloadTooLargeError ||
      known instanceof UploadQuotaError ||
      known instanceof UploadTimeoutError
    ) {
      answerThenStopReading(req, res, payload);
      return;
    }
    res.send(payload);
  };
}

function toIngestionError(error: unknown, sizeLimitBytes: number): IngestionError | undefined {
  if (error instanceof IngestionError) return error;
  if (error instanceof multer.MulterError) {
    if (error.code === 'LIMIT_FILE_SIZE') return new PayloadTooLargeError(sizeLimitBytes);
    if (error.code === 'LIMIT_UNEXPECTED_FILE') {
      return new ValidationError(
        'unexpected_file',
        `unexpected file field "${error.field ?? ''}"; send the video as "file"`,
      );
    }
    return new ValidationError('bad_multipart', error.message);
  }
  if (error instanceof VideoNotFoundError)
    return new NotFoundError('video_not_found', error.message);
  if (error instanceof InvalidCursorError)
    return new ValidationError('invalid_cursor', error.message);
  if (isBodyParserError(error)) return new ValidationError('bad_request', error.message);
  return undefined;
}

function isBodyParserError(error: unknown): error is Error {
  return (
    error instanceof Error &&
    'status' in error &&
    typeof error.status === 'number' &&
    error.status >= 400 &&
    error.status < 500
  );
}

/**
 * Answers an early refusal (413, 408, over quota) without draining gigabytes nobody will store,
 * and without resetting the connection under the answer. The answer is written at once (with
 * its Content-Length, so the client has all of it), then what the client is still sending is
 * read and discarded for up to {@link LINGER_MS} or {@link LINGER_BYTES}, whichever comes
 * first: if the body ends by then, the response ends and the connection closes cleanly; if
 * not, the connection is cut.
 *
 * Why the response stays open meanwhile: once a response ends on a connection that is to
 * close (`Connection: close` from either side; supertest's client sends it), Node's server
 * destroys the socket right away, and destroying a socket with unread data sends an RST: a
 * client still writing its body then fails with EPIPE/ECONNRESET instead of reading the 429.
 */
function answerThenStopReading(req: Request, res: Response, payload: string): void {
  if (!bodyMayArrive(req, res)) {
    // The client waits for "100 Continue" and never got it: no body will come.
    res.setHeader('Connection', 'close');
    res.send(payload);
    return;
  }
  if (req.complete) {
    res.send(payload);
    return;
  }
  res.setHeader('Connection', 'close');
  res.setHeader('Content-Length', Buffer.byteLength(payload));
  res.write(payload);
  let discarded = 0;
  let settled = false;
  const settle = (how: () => void) => {
    if (settled) return;
    settled = true;
    clearTimeout(timer);
    how();
  };
  const cut = () => {
    settle(() => req.socket.destroy());
  };
  const timer = setTimeout(cut, LINGER_MS);
  timer.unref();
  req.on('data', (chunk: Buffer) => {
    discarded += chunk.length;
    if (discarded > LINGER_BYTES) cut();
  });
  req.once('end', () => {
    settle(() => res.end());
  });
  req.once('close', () => {
    settle(() => undefined);
  });
  req.resume();
}

/** How long, and how many more bytes, a refused upload's connection lingers before it is cut. */
const LINGER_MS = 2_000;
const LINGER_BYTES = 1024 * 1024;
