import { duration, fragments, int, text, z } from '@framewise/config';
import { databaseConfig } from '@framewise/db';

/** Every variable the reaper reads (parsed once, in main.ts). See README.md. */
export const reaperConfigSchema = z.object({
  ...fragments.logging,
  ...fragments.redis,
  ...fragments.ops,
  ...databaseConfig,
  /** Prefix of every Redis key (queues and events); the same for every process. */
  REDIS_KEY_PREFIX: text({ default: 'fw:' }),
  /** Deliveries before a frame job is dead-lettered; the same as the workers'. */
  QUEUE_MAX_DELIVERIES: int({ min: 1, max: 100, default: 5 }),
  /** How often stalled consumers are reaped and due retries promoted. */
  REAPER_RECLAIM_INTERVAL: duration({ default: '1s', min: '10ms' }),
  /** How often finished videos are finalized. */
  REAPER_FINALIZE_INTERVAL: duration({ default: '2s', min: '10ms' }),
  /** How often the manifest is reconciled against Redis. */
  REAPER_RECONCILE_INTERVAL: duration({ default: '30s', min: '10ms' }),
  /** Manifest frames younger than this are never re-enqueued (the extractor enqueues right after writing them). */
  REAPER_RECONCILE_GRACE: duration({ default: '2m' }),
  /** Open videos whose per-video progress `/metrics` exports (newest first); 0 turns it off. */
  REAPER_METRICS_VIDEOS: int({ min: 0, max: 1000, default: 50 }),
});

export type ReaperConfig = z.output<typeof reaperConfigSchema>;
