import type { Registry } from '@framewise/observability';
import { Counter, Histogram, LATENCY_BUCKETS_SECONDS } from '@framewise/observability';

/** The reaper's loops, as the `loop` label. */
export type ReaperLoop = 'reclaim' | 'reconcile' | 'finalize';

/** The reaper's Prometheus series, built once in main.ts on the process registry. */
export class ReaperMetrics {
  readonly reclaimed: Counter;
  readonly promoted: Counter;
  readonly deadLettered: Counter<'reason'>;
  readonly reconciled: Counter;
  readonly videoJobsReclaimed: Counter;
  readonly videosReconciled: Counter;
  readonly finalized: Counter<'status'>;
  readonly loopSeconds: Histogram<'loop'>;
  readonly loopErrors: Counter<'loop'>;

  constructor(registry: Registry) {
    const registers = [registry];
    this.reclaimed = new Counter({
      name: 'framewise_reaper_reclaimed_total',
      help: 'Frame jobs returned to pending from consumers whose heartbeat expired.',
      registers,
    });
    this.promoted = new Counter({
      name: 'framewise_reaper_promoted_total',
      help: 'Delayed retries moved to pending when due.',
      registers,
    });
    this.deadLettered = new Counter({
      name: 'framewise_reaper_dead_lettered_total',
      help: 'Jobs dead-lettered by a reclaim (out of deliveries), and dead letters recorded as frame failures.',
      labelNames: ['reason'],
      registers,
    });
    this.reconciled = new Counter({
      name: 'framewise_reaper_reconciled_total',
      help: 'Manifest frames without a result that were in no queue list, re-enqueued.',
      registers,
    });
    this.videoJobsReclaimed = new Counter({
      name: 'framewise_reaper_video_jobs_reclaimed_total',
      help: 'Video (extraction) jobs returned to pending from extractors whose heartbeat expired.',
      registers,
    });
    this.videosReconciled = new Counter({
      name: 'framewise_reaper_videos_reconciled_total',
      help: 'Videos awaiting extraction whose job was in no queue list, re-enqueued.',
      registers,
    });
    this.finalized = new Counter({
      name: 'framewise_reaper_finalized_total',
      help: 'Videos moved to completed / completed_with_errors by this reaper.',
      labelNames: ['status'],
      registers,
    });
    this.loopSeconds = new Histogram({
      name: 'framewise_reaper_loop_duration_seconds',
      help: 'Duration of one pass of each loop.',
      labelNames: ['loop'],
      buckets: [...LATENCY_BUCKETS_SECONDS],
      registers,
    });
    this.loopErrors = new Counter({
      name: 'framewise_reaper_loop_errors_total',
      help: 'Passes that failed (the loop goes on at its next interval).',
      labelNames: ['loop'],
      registers,
    });
  }
}
