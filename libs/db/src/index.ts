/**
 * @framewise/db — PostgreSQL for framewise: the schema (videos, the frame manifest, frame
 * results as JSONB with a derived per-frame class histogram, API key digests), migrations, thin typed
 * repositories and the documented analytics queries.
 *
 * ```ts
 * const db = createDatabase({ url: config.DATABASE_URL });
 * await prepareSchema(db, { migrate: config.DATABASE_MIGRATE_ON_START });
 * const results = new ResultRepository(db);
 * ```
 */
export { createDatabase } from './connect';
export type { DatabaseOptions } from './connect';
export {
  migrateToLatest,
  prepareSchema,
  appliedMigrations,
  migrationSetHash,
  migratedTemplate,
} from './migrate';
export { databaseConfig } from './config';
export type { MigrationReport } from './migrate';
export {
  DbError,
  VideoNotFoundError,
  InvalidTransitionError,
  InvalidCursorError,
  MigrationError,
  FrameGoneError,
} from './errors';
export { newVideoId, isVideoId } from './ids';
export type { Page } from './cursor';
export { VIDEO_TRANSITIONS, FINAL_STATUSES } from './lifecycle';
export type {
  Database,
  Detection,
  VideoStatus,
  VideosTable,
  FramesTable,
  FrameResultsTable,
  FrameFailuresTable,
  FrameClassCountsView,
  ApiKeysTable,
} from './schema';
export { VideoRepository } from './repositories/videos.repository';
export type {
  Video,
  VideoProbe,
  Sampling,
  NewVideo,
  TransitionDetails,
  VideoProgress,
  FinishableVideo,
  ListVideosOptions,
} from './repositories/videos.repository';
export { FrameRepository } from './repositories/frames.repository';
export type {
  ManifestFrame,
  PendingFrame,
  FindWithoutResultOptions,
} from './repositories/frames.repository';
export { ResultRepository, classCounts, storedDetection } from './repositories/results.repository';
export type {
  FrameResult,
  FrameFailure,
  WriteOutcome,
  FrameDetections,
  DetectionFilter,
} from './repositories/results.repository';
export { ApiKeyRepository } from './repositories/api-keys.repository';
export type { ApiKey, NewApiKey } from './repositories/api-keys.repository';
export { AnalyticsRepository, ANALYTICS_SQL } from './analytics';
export type {
  AnalyticsQueryName,
  TimeWindow,
  ClassBucket,
  ClassTotal,
  FrameClassCount,
} from './analytics';
