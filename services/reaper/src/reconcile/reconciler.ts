import type { FrameJob } from '@framewise/contracts';
import { frameJobEntry, frameJobId } from '@framewise/contracts';
import type { FrameRepository, ResultRepository } from '@framewise/db';
import type { Logger } from '@framewise/observability';
import type { QueueDefinition, RedisClient } from '@framewise/queue';
import { QueueProducer } from '@framewise/queue';
import { deadErrorOf, jobIdOf, withLock } from './queue-snapshot';

/** Options of a {@link Reconciler}. */
export interface ReconcilerOptions {
  /** Only manifest rows older than this are considered (the extractor enqueues right after writing them). */
  readonly graceMs: number;
  /** Manifest frames per query page. Default 500. */
  readonly pageSize?: number;
  /** Redis entries per LRANGE / ZRANGE when looking jobs up in the queue. Default 1,000. */
  readonly scanChunk?: number;
  /** The lock that makes one reaper at a time reconcile (must carry the queue's hash tag). */
  readonly lockKey: string;
  /** Lock lifetime: longer than a pass can take. */
  readonly lockTtlMs: number;
}

/** What one reconciliation pass did. */
export interface ReconcileReport {
  /** False when another reaper held the lock (this pass did nothing). */
  readonly ran: boolean;
  /** Manifest frames without a result, older than the grace period, that were examined. */
  readonly examined: number;
  /** Of those, re-enqueued because no queue list held their job. */
  readonly reenqueued: number;
  /** Of those, dead-lettered without a recorded failure: recorded now, so the video can finish. */
  readonly deadLetteredRecorded: number;
  /** Queue entries read from Redis (pending, processing, delayed, dead): the pass's Redis cost. */
  readonly entriesRead: number;
}

/**
 * Makes Postgres' frame manifest, the source of truth for what must be detected, win over
 * Redis, which is only transport. Frames of unfinished videos with neither a result nor a
 * failure, older than a grace period, whose job is in no queue list, are enqueued again, so a
 * Redis that lost data (FLUSHALL, a failover without the last writes, AOF everysec) loses no
 * frame.
 *
 * Cost: proportional to the work. Candidates come from Postgres in pages; each page's job ids
 * are looked up in Redis by a {@link QueueLookup}, which reads the pending list from its
 * oldest end only until every candidate is found, and the processing lists, the delayed set
 * and the dead list only when some candidate is not found before them. Nothing is read when
 * Postgres has no candidate. Reads race with the workers: a job can be missed while it moves
 * and is then enqueued a second time (a wasted detection, never a wrong or duplicated result:
 * results are idempotent by (video, frame, model)); a job is never reported found unless it
 * was seen in a list during this pass, so a frame that is really missing is re-enqueued.
 *
 * Jobs in the dead-letter list whose frame has no recorded failure (dead-lettered by a reclaim
 * after too many deliveries, or by a retry budget running out) get one, so their video can
 * finish `completed_with_errors` instead of waiting forever.
 *
 * Several reapers: a pass runs under a short Redis lock (SET NX PX, released by its owner
 * only), so two reapers never enqueue the same frame within one pass; sequential passes see
 * each other's enqueues in the snapshot.
 */
export class Reconciler {
  private readonly producer: QueueProducer<FrameJob>;
  private readonly pageSize: number;
  private readonly scanChunk: number;

  constructor(
    private readonly frames: Pick<FrameRepository, 'findWithoutResult'>,
    private readonly results: Pick<ResultRepository, 'recordFailures'>,
    private readonly queue: QueueDefinition<FrameJob>,
    private readonly redis: RedisClient,
    private readonly logger: Logger,
    private readonly options: ReconcilerOptions,
  ) {
    this.producer = new QueueProducer(queue, redis);
    this.pageSize = options.pageSize ?? 500;
    this.scanChunk = options.scanChunk ?? 1000;
  }

  async runOnce(now: Date = new Date()): Promise<ReconcileReport> {
    const report = await withLock(this.redis, this.options.lockKey, this.options.lockTtlMs, () =>
      this.pass(new Date(now.getTime() - this.options.graceMs)),
    );
    return (
      report ?? { ran: false, examined: 0, reenqueued: 0, deadLetteredRecorded: 0, entriesRead: 0 }
    );
  }

  private async pass(createdBefore: Date): Promise<ReconcileReport> {
    // Cheap exit first: no candidate in Postgres means no Redis read at all.
    const first = await this.frames.findWithoutResult({ createdBefore, limit: 1 });
    if (first.length === 0) {
      return { ran: true, examined: 0, reenqueued: 0, deadLetteredRecorded: 0, entriesRead: 0 };
    }
    const lookup = new QueueLookup(this.queue, this.redis, this.scanChunk);
    let examined = 0;
    let reenqueued = 0;
    let deadLetteredRecorded = 0;
    let after: { videoId: string; frameIndex: number } | undefined;
    for (;;) {
      const page = await this.frames.findWithoutResult({
        createdBefore,
        limit: this.pageSize,
        ...(after === undefined ? {} : { after }),
      });
      if (page.length === 0) break;
      examined += page.length;
      const jobs = new Map<string, FrameJob>();
      for (const frame of page) {
        const job: FrameJob = {
          videoId: frame.videoId,
          frameIndex: frame.frameIndex,
          storageKey: frame.storageKey,
          model: frame.model,
          ...(frame.sourceSize === undefined ? {} : { sourceSize: frame.sourceSize }),
        };
        jobs.set(frameJobId(job), job);
      }
      const { dead: deadIds, missing: missingIds } = await lookup.locate([...jobs.keys()]);
      const missing = missingIds.flatMap((id) => jobs.get(id) ?? []);
      const deadFrames = [...deadIds].flatMap(([id, error]) => {
        const job = jobs.get(id);
        return job === undefined ? [] : [{ job, error }];
      });
      if (missing.length > 0) {
        await this.producer.enqueue(missing.map(frameJobEntry));
        reenqueued += missing.length;
        this.logger.warn(
          { frames: missing.length, videos: [...new Set(missing.map((m) => m.videoId))] },
          're-enqueued manifest frames that were in no queue list',
        );
      }
      if (deadFrames.length > 0) {
        const written = await this.results.recordFailures(
          deadFrames.map(({ job, error }) => ({
            videoId: job.videoId,
            frameIndex: job.frameIndex,
            model: job.model,
            errorCode: 'dead_lettered',
            errorMessage: error.slice(0, 2000),
            workerId: null,
          })),
        );
        deadLetteredRecorded += written.inserted;
      }
      const last = page[page.length - 1];
      if (last === undefined || page.length < this.pageSize) break;
      after = { videoId: last.videoId, frameIndex: last.frameIndex };
    }
    return { ran: true, examined, reenqueued, deadLetteredRecorded, entriesRead: lookup.read };
  }
}

/**
 * Finds job ids in the queue's lists, reading only as much of Redis as it needs, for one
 * pass. Candidates are frames older than the grace period, so a job of theirs that is still
 * pending sits near the consume (right) end of the pending list, which is read from there
 * in chunks, and only until every id asked about so far has been found. The processing lists
 * and the delayed set (bounded by prefetch and retries in flight) are read once, and only if
 * some id was not found in pending; the dead list only if some id is still not found. So the
 * usual pass (a backlog, nothing lost) reads about as many entries as it has candidates;
 * only frames that are really missing cost a full read, once per pass.
 *
 * Lists move while they are read. Pending is read before the processing lists, so a job
 * claimed meanwhile (popped from the right, which also shifts the unread part) is found in its
 * consumer's list. A job that moves the other way while being read (a reclaim, a release) can
 * be missed: it is enqueued a second time, a wasted detection, never a lost frame or a
 * duplicate result (results are idempotent by video, frame and model).
 */
class QueueLookup {
  /** Entries read from Redis so far. */
  read = 0;
  private readonly seen = new Set<string>();
  private readonly dead = new Map<string, string>();
  private pendingRead = 0;
  private pendingDone = false;
  private othersRead = false;
  private deadRead = false;

  constructor(
    private readonly queue: QueueDefinition<FrameJob>,
    private readonly redis: RedisClient,
    private readonly chunk: number,
  ) {}

  async locate(ids: readonly string[]): Promise<{ dead: Map<string, string>; missing: string[] }> {
    const open = new Set(ids.filter((id) => !this.seen.has(id)));
    while (open.size > 0 && !this.pendingDone) await this.readPendingChunk(open);
    if (open.size > 0 && !this.othersRead) await this.readOthers(open);
    const dead = new Map<string, string>();
    if (open.size > 0) {
      if (!this.deadRead) await this.readDead();
      for (const id of open) {
        const error = this.dead.get(id);
        if (error === undefined) continue;
        dead.set(id, error);
        open.delete(id);
      }
    }
    return { dead, missing: [...open] };
  }

  private note(payload: string, open: Set<string>): void {
    const id = jobIdOf(payload);
    if (id === undefined) return;
    this.seen.add(id);
    open.delete(id);
  }

  /** The next chunk of pending, from the consume (right, oldest) end. */
  private async readPendingChunk(open: Set<string>): Promise<void> {
    const end = -1 - this.pendingRead;
    const entries = await this.redis.lrange(this.queue.keys.pending, end - this.chunk + 1, end);
    this.read += entries.length;
    this.pendingRead += entries.length;
    for (const payload of entries) this.note(payload, open);
    if (entries.length < this.chunk) this.pendingDone = true;
  }

  /** Every registered consumer's processing list and the delayed set, in full. */
  private async readOthers(open: Set<string>): Promise<void> {
    this.othersRead = true;
    const keys = this.queue.keys;
    const consumers = await this.redis.smembers(keys.consumers);
    for (const list of consumers.map((c) => keys.processing(c))) {
      await this.scanList(list, (payload) => {
        this.note(payload, open);
      });
    }
    for (let start = 0; ; start += this.chunk) {
      const members = await this.redis.zrange(keys.delayed, start, start + this.chunk - 1);
      this.read += members.length;
      for (const payload of members) this.note(payload, open);
      if (members.length < this.chunk) break;
    }
  }

  private async readDead(): Promise<void> {
    this.deadRead = true;
    await this.scanList(this.queue.keys.dead, (entry) => {
      const dead = deadErrorOf(entry);
      if (dead !== undefined) this.dead.set(dead.id, dead.error);
    });
  }

  private async scanList(key: string, each: (entry: string) => void): Promise<void> {
    for (let start = 0; ; start += this.chunk) {
      const entries = await this.redis.lrange(key, start, start + this.chunk - 1);
      this.read += entries.length;
      entries.forEach(each);
      if (entries.length < this.chunk) return;
    }
  }
}
