// Typed errors of @framewise/db. Callers branch on the class, never on message text; the
// messages say what happened and what to do.

/** Base class, so a caller can catch every error this lib throws on purpose. */
export class DbError extends Error {
  override readonly name: string = 'DbError';
}

/** A video id that no row has (deleted, or never existed). */
export class VideoNotFoundError extends DbError {
  override readonly name = 'VideoNotFoundError';

  constructor(readonly videoId: string) {
    super(`video ${videoId} does not exist`);
  }
}

/** A status change the lifecycle does not allow from the video's current status. */
export class InvalidTransitionError extends DbError {
  override readonly name = 'InvalidTransitionError';

  constructor(
    readonly videoId: string,
    readonly from: string,
    readonly to: string,
  ) {
    super(`video ${videoId} cannot go from ${from} to ${to}`);
  }
}

/**
 * A result or failure whose manifest row was deleted while the write ran, without its video
 * (a video's deletion never causes this: its frames are skipped). The whole batch was rolled
 * back; writing it again writes the rows whose frames still exist and skips the others.
 */
export class FrameGoneError extends DbError {
  override readonly name = 'FrameGoneError';

  constructor(cause: unknown) {
    super(
      'a frame of this batch was deleted from the manifest while it was written; retry the batch',
      {
        cause,
      },
    );
  }
}

/** A pagination cursor that this lib did not produce (or from another listing). */
export class InvalidCursorError extends DbError {
  override readonly name = 'InvalidCursorError';

  constructor(readonly cursor: string) {
    super('invalid pagination cursor: pass back exactly the nextCursor a previous page returned');
  }
}

/** Applying migrations failed; the transaction rolled back, so the schema is unchanged. */
export class MigrationError extends DbError {
  override readonly name = 'MigrationError';

  constructor(
    message: string,
    /** The migration that failed, when one did. */
    readonly migration: string | undefined,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
