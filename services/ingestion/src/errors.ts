/**
 * The errors of the ingestion service. Each carries a stable `code` (clients branch on it) and
 * the HTTP status the API's one error middleware answers with; nothing else maps errors to HTTP.
 */
export abstract class IngestionError extends Error {
  abstract readonly status: number;
  constructor(
    readonly code: string,
    message: string,
    /** Extra members for the problem+json body (for example which fields were wrong). */
    readonly details?: Readonly<Record<string, unknown>>,
  ) {
    super(message);
    this.name = new.target.name;
  }

  /** Seconds after which a retry may succeed; sent as `Retry-After` when set. */
  get retryAfterS(): number | undefined {
    return undefined;
  }
}

/** The request is malformed: bad or unknown fields, a missing file, a bad query parameter. */
export class ValidationError extends IngestionError {
  readonly status = 400;
}

/** The upload exceeds the configured size limit. */
export class PayloadTooLargeError extends IngestionError {
  readonly status = 413;
  constructor(limitBytes: number) {
    super('file_too_large', `the file exceeds the upload limit of ${limitBytes} bytes`, {
      limitBytes,
    });
  }
}

/** The client stopped sending its upload for longer than the idle timeout. */
export class UploadTimeoutError extends IngestionError {
  readonly status = 408;
  constructor(idleMs: number) {
    super('upload_timeout', `no upload data arrived for ${idleMs} ms; the upload was cut`, {
      idleMs,
    });
  }
}

/** The file is not a video container framewise accepts (by extension or by its bytes). */
export class UnsupportedMediaError extends IngestionError {
  readonly status = 415;
}

/** The file looks like a video but is not one framewise can process (no video stream, too long…). */
export class UnprocessableVideoError extends IngestionError {
  readonly status = 422;
}

/** No such resource. */
export class NotFoundError extends IngestionError {
  readonly status = 404;
}

/** Missing or wrong API key. */
export class UnauthorizedError extends IngestionError {
  readonly status = 401;
}

/**
 * A dependency the request needs is unreachable for now (for example Postgres while checking
 * an API key not seen recently): retry later. Never a 401, which would tell the client its key
 * is wrong.
 */
export class ServiceUnavailableError extends IngestionError {
  readonly status = 503;
  constructor(
    code: string,
    message: string,
    private readonly retryAfterSeconds: number,
    /** The underlying failure, for the log. */
    cause?: unknown,
  ) {
    super(code, message, { retryAfterS: retryAfterSeconds });
    if (cause !== undefined) this.cause = cause;
  }

  override get retryAfterS(): number {
    return this.retryAfterSeconds;
  }
}

/** Too many requests for this key. */
export class RateLimitedError extends IngestionError {
  readonly status = 429;
  constructor(private readonly retryAfterSeconds: number) {
    super('rate_limited', `too many requests; retry in ${retryAfterSeconds} s`, {
      retryAfterS: retryAfterSeconds,
    });
  }

  override get retryAfterS(): number {
    return this.retryAfterSeconds;
  }
}

/**
 * The API key's upload quota refuses this upload: too many uploads in flight, or the period's
 * bytes or videos used up (429, with when to retry), or a file larger than the whole period's
 * byte quota (403: no retry with this key can succeed).
 */
export class UploadQuotaError extends IngestionError {
  readonly status: 403 | 429;
  constructor(
    code: 'too_many_concurrent_uploads' | 'upload_quota_exceeded' | 'upload_exceeds_quota',
    message: string,
    private readonly retryAfterSeconds: number | undefined,
    details: Readonly<Record<string, unknown>>,
  ) {
    super(code, message, {
      ...details,
      ...(retryAfterSeconds === undefined ? {} : { retryAfterS: retryAfterSeconds }),
    });
    this.status = code === 'upload_exceeds_quota' ? 403 : 429;
  }

  override get retryAfterS(): number | undefined {
    return this.retryAfterSeconds;
  }
}
