import { StorageNetworkError, StorageNotFoundError } from '@framewise/storage';
import { backoffMs, isTransientDatabaseError, isTransientStorageError } from './transient';

function withCode(code: string, message = 'x'): Error {
  return Object.assign(new Error(message), { code });
}

describe('isTransientDatabaseError', () => {
  it('retries outages: refused connections, shutdowns, lost connections', () => {
    expect(isTransientDatabaseError(withCode('ECONNREFUSED'))).toBe(true);
    expect(isTransientDatabaseError(withCode('57P01', 'terminating connection'))).toBe(true);
    expect(isTransientDatabaseError(withCode('57P03', 'the database system is starting up'))).toBe(
      true,
    );
    expect(isTransientDatabaseError(withCode('08006'))).toBe(true);
    expect(isTransientDatabaseError(new Error('Connection terminated unexpectedly'))).toBe(true);
  });

  it('does not retry statement errors forever', () => {
    expect(isTransientDatabaseError(withCode('22P02', 'invalid input syntax'))).toBe(false);
    expect(isTransientDatabaseError(withCode('23503', 'foreign key'))).toBe(false);
    expect(isTransientDatabaseError(new Error('boom'))).toBe(false);
  });
});

describe('isTransientStorageError', () => {
  it('treats a missing object as a fact and a network error as an outage', () => {
    const missing = new StorageNotFoundError('videos/x/frames/000001.jpg', 'the volume');
    expect(isTransientStorageError(missing)).toBe(false);
    const network = new StorageNetworkError('socket hang up', 'videos/x');
    expect(isTransientStorageError(network)).toBe(true);
    expect(isTransientStorageError(withCode('ECONNRESET'))).toBe(true);
    expect(isTransientStorageError(new Error('boom'))).toBe(false);
  });
});

describe('backoffMs', () => {
  it('doubles from the base up to the cap, half fixed and half jitter', () => {
    const policy = { baseMs: 100, maxMs: 1000 };
    expect(backoffMs(1, policy, () => 0)).toBe(50);
    expect(backoffMs(1, policy, () => 1)).toBe(100);
    expect(backoffMs(3, policy, () => 1)).toBe(400);
    expect(backoffMs(10, policy, () => 0)).toBe(500);
  });
});
