import {
  StorageAccessDeniedError,
  StorageBucketNotFoundError,
  StorageError,
  StorageInvalidRangeError,
  StorageNetworkError,
  StorageNotFoundError,
} from './errors';

/** What was being done when an S3 call failed, for the error message. */
export interface S3ErrorContext {
  /** `s3://bucket at https://endpoint`, as the adapter describes itself. */
  readonly where: string;
  readonly bucket: string;
  readonly key?: string;
  /** The S3 action, e.g. `PutObject`. */
  readonly action: string;
  /** The range asked for, for InvalidRange errors. */
  readonly range?: string;
}

// Node socket errors that mean "could not talk to the server at all".
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EPIPE',
  'ECONNABORTED',
  'UND_ERR_SOCKET',
]);

const CREDENTIAL_HINTS: Readonly<Record<string, string>> = {
  InvalidAccessKeyId:
    'the server does not know this access key: check S3_ACCESS_KEY_ID (and that S3_ENDPOINT points at the server that issued it)',
  SignatureDoesNotMatch:
    'the request signature does not match: check S3_SECRET_ACCESS_KEY and S3_REGION; a proxy that rewrites the Host header also breaks signatures (try S3_FORCE_PATH_STYLE=true)',
  ExpiredToken: 'the session token has expired: refresh the credentials',
  InvalidToken: 'the session token is invalid: check the credentials the process runs with',
  AuthorizationHeaderMalformed:
    'the server rejected the signing region: set S3_REGION to the region of the bucket',
};

/**
 * Turns what the AWS SDK threw into one of the typed storage errors, with a message that says
 * what to check. Error names come from the S3 error code (NoSuchKey, NoSuchBucket,
 * AccessDenied, …); HEAD responses carry no body, so a HEAD 404 arrives as `NotFound` and the
 * caller decides between a missing key and a missing bucket.
 */
export function mapS3Error(error: unknown, context: S3ErrorContext): StorageError {
  if (error instanceof StorageError) return error;
  const name = error instanceof Error ? error.name : 'Error';
  const status = httpStatusOf(error);
  const { where, bucket, key, action } = context;
  const subject = key === undefined ? `bucket ${bucket}` : JSON.stringify(key);
  const detail = `${action} ${subject} in ${where}`;

  if (name === 'NoSuchBucket') {
    return new StorageBucketNotFoundError(
      `${detail} failed: bucket ${JSON.stringify(bucket)} does not exist there; create it, or check S3_BUCKET, S3_ENDPOINT and S3_REGION`,
      key,
      { cause: error },
    );
  }
  if (name === 'NoSuchKey' || (status === 404 && key !== undefined && name === 'NotFound')) {
    return new StorageNotFoundError(key ?? '', where, { cause: error });
  }
  if (name === 'InvalidRange' || status === 416) {
    return new StorageInvalidRangeError(key ?? '', context.range ?? '?', undefined, {
      cause: error,
    });
  }
  const credentialHint = CREDENTIAL_HINTS[name];
  if (credentialHint !== undefined) {
    return new StorageAccessDeniedError(`${detail} was refused (${name}): ${credentialHint}`, key, {
      cause: error,
    });
  }
  if (status === 403 || name === 'AccessDenied' || name === 'AllAccessDisabled') {
    return new StorageAccessDeniedError(
      `${detail} was refused (${name}): the credentials lack permission for s3:${action} on bucket ${JSON.stringify(bucket)}; check the bucket policy or IAM policy, and S3_ACCESS_KEY_ID`,
      key,
      { cause: error },
    );
  }
  if (name === 'PermanentRedirect' || status === 301) {
    return new StorageError(
      `${detail} failed: the bucket lives in another region; set S3_REGION to its region`,
      key,
      { cause: error },
    );
  }
  const code = networkCodeOf(error);
  if (code !== undefined || name === 'TimeoutError' || name === 'RequestTimeout') {
    return new StorageNetworkError(
      `${detail} failed: cannot reach the S3 server (${code ?? name}); check S3_ENDPOINT, DNS, and that the server is running and reachable from here`,
      key,
      { cause: error },
    );
  }
  if (status !== undefined && status >= 500) {
    return new StorageNetworkError(
      `${detail} failed: the S3 server answered ${status} (${name}); it is overloaded or failing, retry later`,
      key,
      { cause: error },
    );
  }
  const message = error instanceof Error ? error.message : String(error);
  return new StorageError(
    `${detail} failed (${name}${status === undefined ? '' : ` ${status}`}): ${message}`,
    key,
    { cause: error },
  );
}

/** The HTTP status of an SDK service error, if the server answered at all. */
export function httpStatusOf(error: unknown): number | undefined {
  if (typeof error !== 'object' || error === null || !('$metadata' in error)) return undefined;
  const metadata = (error as { $metadata?: { httpStatusCode?: number } }).$metadata;
  return metadata?.httpStatusCode;
}

function networkCodeOf(error: unknown): string | undefined {
  if (httpStatusOf(error) !== undefined) return undefined;
  const candidates: unknown[] = [error];
  // Node reports a refused connect to every address of a host as an AggregateError.
  if (error instanceof AggregateError) candidates.push(...(error.errors as unknown[]));
  if (error instanceof Error && error.cause !== undefined) candidates.push(error.cause);
  for (const candidate of candidates) {
    if (typeof candidate === 'object' && candidate !== null && 'code' in candidate) {
      const code = String(candidate.code);
      if (NETWORK_CODES.has(code)) return code;
    }
  }
  // The SDK's retry layer turns a thrown value it does not recognise as an Error (one from
  // another realm, such as a jest sandbox) into a bare message, losing `code`: read the text.
  const message = error instanceof Error ? error.message : String(error);
  return (message.match(/\b[A-Z][A-Z_]+\b/g) ?? []).find((word) => NETWORK_CODES.has(word));
}
