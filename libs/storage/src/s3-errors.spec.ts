import {
  StorageAccessDeniedError,
  StorageBucketNotFoundError,
  StorageError,
  StorageInvalidRangeError,
  StorageNetworkError,
  StorageNotFoundError,
} from './errors';
import { mapS3Error } from './s3-errors';

const context = { where: 's3://b at http://s3', bucket: 'b', key: 'k.jpg', action: 'GetObject' };

/** An error shaped like the SDK's service exceptions. */
function serviceError(name: string, status: number): Error {
  return Object.assign(new Error(`${name} message`), {
    name,
    $metadata: { httpStatusCode: status },
  });
}

describe('mapS3Error', () => {
  it.each([
    ['NoSuchKey', 404, StorageNotFoundError, /no object "k.jpg"/],
    ['NotFound', 404, StorageNotFoundError, /no object/],
    ['NoSuchBucket', 404, StorageBucketNotFoundError, /S3_BUCKET/],
    ['InvalidRange', 416, StorageInvalidRangeError, /outside object/],
    ['AccessDenied', 403, StorageAccessDeniedError, /s3:GetObject.*policy/],
    ['InvalidAccessKeyId', 403, StorageAccessDeniedError, /S3_ACCESS_KEY_ID/],
    ['SignatureDoesNotMatch', 403, StorageAccessDeniedError, /S3_SECRET_ACCESS_KEY/],
    ['AuthorizationHeaderMalformed', 400, StorageAccessDeniedError, /S3_REGION/],
    ['PermanentRedirect', 301, StorageError, /S3_REGION/],
    ['InternalError', 500, StorageNetworkError, /retry later/],
    ['SlowDown', 503, StorageNetworkError, /503/],
    ['Weird', 400, StorageError, /Weird/],
  ])('maps %s (%d)', (name, status, type, message) => {
    const mapped = mapS3Error(serviceError(name, status), context);
    expect(mapped).toBeInstanceOf(type);
    expect(mapped.message).toMatch(message);
    expect(mapped.cause).toBeDefined();
  });

  it.each(['ECONNREFUSED', 'ENOTFOUND', 'ETIMEDOUT', 'ECONNRESET'])(
    'maps the socket error %s to a retryable network error naming S3_ENDPOINT',
    (code) => {
      const mapped = mapS3Error(Object.assign(new Error(`connect ${code}`), { code }), context);
      expect(mapped).toBeInstanceOf(StorageNetworkError);
      expect(mapped.retryable).toBe(true);
      expect(mapped.message).toContain('S3_ENDPOINT');
    },
  );

  it('finds the code in an AggregateError (every address of a host refused)', () => {
    const inner = Object.assign(new Error('connect'), { code: 'ECONNREFUSED' });
    expect(mapS3Error(new AggregateError([inner, inner]), context)).toBeInstanceOf(
      StorageNetworkError,
    );
  });

  it('finds the code in the message when the SDK re-wrapped the error', () => {
    const wrapped = new Error('AWS SDK error wrapper for Error: connect ECONNREFUSED 127.0.0.1:9');
    expect(mapS3Error(wrapped, context)).toBeInstanceOf(StorageNetworkError);
  });

  it('leaves storage errors as they are', () => {
    const original = new StorageNotFoundError('k', 'there');
    expect(mapS3Error(original, context)).toBe(original);
  });
});
