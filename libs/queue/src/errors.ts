/**
 * Every error the queue defines, in one place. Handlers throw {@link PermanentJobError} to
 * dead-letter a job at once; any other error is retryable (capped exponential backoff, then a
 * dead letter once the job is out of deliveries).
 */

/** Base class of the errors this library throws. */
export class QueueError extends Error {
  override readonly name: string = 'QueueError';
}

/**
 * Thrown by a job handler when retrying cannot help (bad input, a frame that no longer exists):
 * the job goes straight to the dead-letter list with this error.
 */
export class PermanentJobError extends QueueError {
  override readonly name: string = 'PermanentJobError';
}

/**
 * A payload that is not valid JSON, has no job id, or fails the queue's zod schema. Consumers
 * dead-letter such jobs at once and keep running; producers refuse to enqueue them.
 */
export class InvalidPayloadError extends PermanentJobError {
  override readonly name: string = 'InvalidPayloadError';
  constructor(
    message: string,
    /** The job id, when the payload had a readable one. */
    readonly jobId: string | undefined,
  ) {
    super(message);
  }
}

/**
 * A job whose handler was still running when a graceful close hit its deadline. It is failed
 * as retryable, so it counts as a delivery (a handler that always hangs still ends up dead-lettered).
 */
export class CloseDeadlineError extends QueueError {
  override readonly name: string = 'CloseDeadlineError';
}

/** Redis is configured so that jobs could be lost (AOF off, evicting keys) and the check was told to refuse. */
export class UnsafeRedisError extends QueueError {
  override readonly name: string = 'UnsafeRedisError';
  constructor(
    message: string,
    /** Each problem found, in words. */
    readonly problems: readonly string[],
  ) {
    super(message);
  }
}

/** Invalid queue or consumer options (a name that would break the hash tag, a bad limit). */
export class QueueConfigError extends QueueError {
  override readonly name: string = 'QueueConfigError';
}

/** True when a handler's error means the job must not be retried. */
export function isPermanent(error: unknown): boolean {
  return error instanceof PermanentJobError;
}

/** A one-line description of anything thrown, kept short enough to store with the job. */
export function describeError(error: unknown, maxLength = 2000): string {
  let text: string;
  if (error instanceof Error) text = `${error.name}: ${error.message}`;
  else if (typeof error === 'string') text = error;
  else {
    try {
      // JSON.stringify returns undefined (despite its type) for undefined, functions, symbols.
      const json = JSON.stringify(error) as string | undefined;
      text = json ?? String(error);
    } catch {
      text = String(error);
    }
  }
  return text.length > maxLength ? `${text.slice(0, maxLength - 1)}…` : text;
}
