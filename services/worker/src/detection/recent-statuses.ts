import type { VideoStatus } from '@framewise/contracts';
import { isFinalStatus } from '@framewise/contracts';

/**
 * The video statuses a worker saw lately, for the check it makes before reading a batch (drop
 * the jobs of canceled or finished videos without reading or detecting their frames).
 *
 * That check is an optimisation, not the guarantee: every batch's write re-reads the statuses
 * under its lock and writes nothing for a video that is no longer live. So a live status may be
 * reused for `ttlMs` (a cancel then costs at most that much more detection), and a final one
 * for good (final statuses never change). Each write's answer refreshes the entries, so a
 * worker busy on one video queries Postgres before reading only when the answer is older than
 * `ttlMs`: at most one statement per batch instead of two.
 */
export class RecentStatuses {
  private readonly seen = new Map<string, { readonly status: VideoStatus; readonly at: number }>();

  constructor(
    private readonly ttlMs: number,
    /** Most videos remembered; the oldest entries go first. */
    private readonly capacity = 10_000,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** The statuses of `ids` still fresh enough to use, and the ids that need a fresh read. */
  lookup(ids: readonly string[]): { known: Map<string, VideoStatus>; stale: string[] } {
    const known = new Map<string, VideoStatus>();
    const stale: string[] = [];
    const now = this.now();
    for (const id of ids) {
      const entry = this.seen.get(id);
      if (entry && (isFinalStatus(entry.status) || now - entry.at <= this.ttlMs)) {
        known.set(id, entry.status);
      } else {
        stale.push(id);
      }
    }
    return { known, stale };
  }

  /** Records statuses just read from Postgres. Videos absent from it are not remembered. */
  remember(statuses: ReadonlyMap<string, VideoStatus>): void {
    const now = this.now();
    for (const [id, status] of statuses) {
      this.seen.delete(id); // re-insert: Map order is then the order of last sight
      this.seen.set(id, { status, at: now });
    }
    for (const id of this.seen.keys()) {
      if (this.seen.size <= this.capacity) break;
      this.seen.delete(id);
    }
  }
}
