import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { UploadQuotaError } from '../../errors';

/** Per-API-key upload limits; 0 turns a limit off. */
export interface UploadQuotaLimits {
  /** Bytes of accepted uploads per key per period. */
  readonly bytesPerPeriod: number;
  /** Accepted uploads (videos) per key per period. */
  readonly videosPerPeriod: number;
  /** The period: fixed windows aligned to multiples of it since the Unix epoch (UTC). */
  readonly periodMs: number;
  /** Uploads of one key in flight at once, across every API replica. */
  readonly maxConcurrent: number;
}

/** One admitted upload's hold on its key's quota. */
export interface UploadTicket {
  /**
   * Bytes this key may still add this period (Infinity without a byte quota); the staging
   * storage cuts the body off beyond it.
   */
  readonly bytesLeft: number;
  /** The error to fail a body with that streams past {@link bytesLeft}. */
  overQuota(receivedBytes: number): UploadQuotaError;
  /**
   * Counts the video and its bytes against the period, atomically with the check that they
   * fit. Called after validation and before the original is stored.
   * @throws UploadQuotaError when they no longer fit (other uploads took the room meanwhile).
   */
  reserve(sizeBytes: number): Promise<void>;
  /** Gives a reservation back: the upload failed after {@link reserve}. */
  refund(): Promise<void>;
  /** Frees the in-flight slot (idempotent); call when the response closes. */
  release(): Promise<void>;
}

// admit: drop expired in-flight leases, check the concurrency slot and what is left of the
// period, then take a slot. Read-only on the usage hash: nothing is counted until `reserve`.
//
// KEYS[1]  in-flight sorted set of the key (member: request token, score: lease expiry ms)
// KEYS[2]  usage hash of the key's current period (fields: bytes, videos)
// ARGV[1]  now (ms)            ARGV[2] lease (ms)        ARGV[3] request token
// ARGV[4]  max concurrent (0: off)   ARGV[5] bytes quota (0: off)   ARGV[6] videos quota (0: off)
// ARGV[7]  declared body size in bytes (0: unknown)
// Reply: { verdict, bytes used, videos used, uploads in flight }
//        verdict: 'ok', 'concurrent', 'videos', 'bytes'
const ADMIT = `
local now = tonumber(ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local inflight = redis.call('ZCARD', KEYS[1])
local usage = redis.call('HMGET', KEYS[2], 'bytes', 'videos')
local bytes = tonumber(usage[1] or '0')
local videos = tonumber(usage[2] or '0')
local maxConcurrent = tonumber(ARGV[4])
local maxBytes = tonumber(ARGV[5])
local maxVideos = tonumber(ARGV[6])
if maxConcurrent > 0 and inflight >= maxConcurrent then
  return { 'concurrent', bytes, videos, inflight }
end
if maxVideos > 0 and videos >= maxVideos then
  return { 'videos', bytes, videos, inflight }
end
if maxBytes > 0 and bytes + tonumber(ARGV[7]) > maxBytes then
  return { 'bytes', bytes, videos, inflight }
end
if maxConcurrent > 0 then
  redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[3])
  redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[2]) * 2)
end
return { 'ok', bytes, videos, inflight }
`;

// reserve: count one video and its bytes if both still fit.
//
// KEYS[1]  usage hash of the period the upload was admitted in
// ARGV[1]  size in bytes   ARGV[2] bytes quota (0: off)   ARGV[3] videos quota (0: off)
// ARGV[4]  hash lifetime (ms): past the period's end, then Redis drops it
// Reply: { verdict, bytes used, videos used } (after counting when 'ok')
//        verdict: 'ok', 'videos', 'bytes'
const RESERVE = `
local usage = redis.call('HMGET', KEYS[1], 'bytes', 'videos')
local bytes = tonumber(usage[1] or '0')
local videos = tonumber(usage[2] or '0')
local size = tonumber(ARGV[1])
local maxBytes = tonumber(ARGV[2])
local maxVideos = tonumber(ARGV[3])
if maxVideos > 0 and videos + 1 > maxVideos then
  return { 'videos', bytes, videos }
end
if maxBytes > 0 and bytes + size > maxBytes then
  return { 'bytes', bytes, videos }
end
bytes = redis.call('HINCRBY', KEYS[1], 'bytes', size)
videos = redis.call('HINCRBY', KEYS[1], 'videos', 1)
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[4]))
return { 'ok', bytes, videos }
`;

/** How long an in-flight slot lives without renewal: a crashed API frees its slots by then. */
const DEFAULT_LEASE_MS = 60_000;

/**
 * Per-API-key upload quota, kept in Redis so every API replica enforces the same numbers:
 * uploads in flight at once, and bytes and videos accepted per period (fixed windows).
 *
 * An upload is first *admitted* before a byte of its body is read (a free in-flight slot, and
 * room left in the period for its declared size), then *reserved* once it has passed
 * validation and before the original is stored (bytes and video counted atomically with the
 * check). A rejection therefore never touches an upload already accepted, and an upload that
 * fails after its reservation gives it back. In-flight slots are leases renewed while the
 * request runs, so the slots of a crashed API process expire on their own.
 */
export class UploadQuota {
  constructor(
    private readonly redis: Redis,
    private readonly keyPrefix: string,
    private readonly limits: UploadQuotaLimits,
    private readonly leaseMs: number = DEFAULT_LEASE_MS,
  ) {}

  /** Whether any limit is on (when none is, admitting costs no Redis round trip). */
  get enabled(): boolean {
    const { bytesPerPeriod, videosPerPeriod, maxConcurrent } = this.limits;
    return bytesPerPeriod > 0 || videosPerPeriod > 0 || maxConcurrent > 0;
  }

  /**
   * Admits an upload of `apiKeyId` before its body is read.
   * @param declaredBytes the request's Content-Length when it sent one (an upper bound of the
   *   file's size, counted against the byte quota right away).
   * @throws UploadQuotaError when the key has no slot free or its period's quota is used up.
   */
  async admit(apiKeyId: string, declaredBytes: number | undefined): Promise<UploadTicket> {
    if (!this.enabled) return UNLIMITED;
    const { bytesPerPeriod, videosPerPeriod, periodMs, maxConcurrent } = this.limits;
    const now = Date.now();
    const window = Math.floor(now / periodMs);
    const resetsAt = (window + 1) * periodMs;
    const usageKey = this.key(apiKeyId, `usage:${window}`);
    const inflightKey = this.key(apiKeyId, 'inflight');
    const token = randomUUID();
    const declared = declaredBytes ?? 0;
    if (bytesPerPeriod > 0 && declared > bytesPerPeriod) {
      throw this.largerThanQuota(declared);
    }
    const reply = await this.redis.eval(
      ADMIT,
      2,
      inflightKey,
      usageKey,
      now,
      this.leaseMs,
      token,
      maxConcurrent,
      bytesPerPeriod,
      videosPerPeriod,
      declared,
    );
    const admitted = quotaReply(reply);
    const { bytesUsed, videosUsed, inflight } = admitted;
    if (admitted.verdict !== 'ok') {
      throw this.refusal(admitted.verdict, admitted, declared, resetsAt);
    }

    let released = false;
    let reservedBytes: number | undefined;
    // Renew the lease while the upload runs (gigabytes take minutes).
    const renew =
      maxConcurrent > 0
        ? setInterval(
            () => {
              // The set's own lifetime too: an upload may outlast every other admit of the key.
              void this.redis
                .multi()
                .zadd(inflightKey, 'XX', Date.now() + this.leaseMs, token)
                .pexpire(inflightKey, this.leaseMs * 2)
                .exec()
                .catch(() => null);
            },
            Math.max(1, Math.floor(this.leaseMs / 3)),
          )
        : undefined;
    renew?.unref();
    return {
      bytesLeft: bytesPerPeriod > 0 ? Math.max(0, bytesPerPeriod - bytesUsed) : Infinity,
      overQuota: (receivedBytes) =>
        receivedBytes > bytesPerPeriod
          ? this.largerThanQuota(receivedBytes)
          : this.refusal('bytes', { bytesUsed, videosUsed, inflight }, receivedBytes, resetsAt),
      reserve: async (sizeBytes) => {
        const answer = await this.redis.eval(
          RESERVE,
          1,
          usageKey,
          sizeBytes,
          bytesPerPeriod,
          videosPerPeriod,
          resetsAt - Date.now() + periodMs,
        );
        const reserved = quotaReply(answer);
        if (reserved.verdict !== 'ok') {
          if (reserved.verdict === 'bytes' && sizeBytes > bytesPerPeriod) {
            throw this.largerThanQuota(sizeBytes);
          }
          throw this.refusal(reserved.verdict, { ...reserved, inflight }, sizeBytes, resetsAt);
        }
        reservedBytes = sizeBytes;
      },
      refund: async () => {
        if (reservedBytes === undefined) return;
        const size = reservedBytes;
        reservedBytes = undefined;
        await this.redis
          .multi()
          .hincrby(usageKey, 'bytes', -size)
          .hincrby(usageKey, 'videos', -1)
          .exec();
      },
      release: async () => {
        if (released) return;
        released = true;
        clearInterval(renew);
        if (maxConcurrent > 0) await this.redis.zrem(inflightKey, token);
      },
    };
  }

  /** The key's usage in the current period (for tests and operators). */
  async usage(apiKeyId: string): Promise<{ bytes: number; videos: number; inflight: number }> {
    const window = Math.floor(Date.now() / this.limits.periodMs);
    const [usage, inflight] = await Promise.all([
      this.redis.hmget(this.key(apiKeyId, `usage:${window}`), 'bytes', 'videos'),
      this.redis.zcount(this.key(apiKeyId, 'inflight'), Date.now(), '+inf'),
    ]);
    return { bytes: Number(usage[0] ?? 0), videos: Number(usage[1] ?? 0), inflight };
  }

  /** One hash tag per API key, so its keys share a Redis Cluster slot (the scripts need that). */
  private key(apiKeyId: string, suffix: string): string {
    return `${this.keyPrefix}{quota:${apiKeyId}}:${suffix}`;
  }

  private refusal(
    verdict: Exclude<Verdict, 'ok'>,
    used: { bytesUsed: number; videosUsed: number; inflight: number },
    sizeBytes: number,
    resetsAt: number,
  ): UploadQuotaError {
    const { bytesPerPeriod, videosPerPeriod, maxConcurrent } = this.limits;
    const resets = new Date(resetsAt).toISOString();
    const retryAfterS = Math.max(1, Math.ceil((resetsAt - Date.now()) / 1000));
    switch (verdict) {
      case 'concurrent':
        return new UploadQuotaError(
          'too_many_concurrent_uploads',
          `this API key already has ${used.inflight} uploads in progress (the limit is ${maxConcurrent}); wait for one to finish, then retry`,
          5,
          { limit: maxConcurrent, inFlight: used.inflight },
        );
      case 'videos':
        return new UploadQuotaError(
          'upload_quota_exceeded',
          `this API key has used its quota of ${videosPerPeriod} videos for the period ending ${resets}; retry after then, or ask the operator to raise UPLOAD_QUOTA_VIDEOS`,
          retryAfterS,
          { quota: 'videos', limit: videosPerPeriod, used: used.videosUsed, resetsAt: resets },
        );
      case 'bytes':
        return new UploadQuotaError(
          'upload_quota_exceeded',
          `this upload (${sizeBytes} bytes) does not fit in what is left of this API key's quota: ${used.bytesUsed} of ${bytesPerPeriod} bytes used in the period ending ${resets}; retry after then, or ask the operator to raise UPLOAD_QUOTA_BYTES`,
          retryAfterS,
          {
            quota: 'bytes',
            limit: bytesPerPeriod,
            used: used.bytesUsed,
            sizeBytes,
            resetsAt: resets,
          },
        );
    }
  }

  private largerThanQuota(sizeBytes: number): UploadQuotaError {
    const limit = this.limits.bytesPerPeriod;
    return new UploadQuotaError(
      'upload_exceeds_quota',
      `this upload (${sizeBytes} bytes) is larger than this API key's whole quota of ${limit} bytes per period; it cannot be accepted with this key: split the video or ask the operator to raise UPLOAD_QUOTA_BYTES`,
      undefined,
      { quota: 'bytes', limit, sizeBytes },
    );
  }
}

/** The ticket when no limit is on. */
const UNLIMITED: UploadTicket = {
  bytesLeft: Infinity,
  overQuota: () => {
    throw new Error('no upload quota is configured');
  },
  reserve: () => Promise.resolve(),
  refund: () => Promise.resolve(),
  release: () => Promise.resolve(),
};

type Verdict = 'ok' | 'concurrent' | 'videos' | 'bytes';

/** Reads a script's reply: `{ verdict, bytes used, videos used[, uploads in flight] }`. */
function quotaReply(reply: unknown): {
  verdict: Verdict;
  bytesUsed: number;
  videosUsed: number;
  inflight: number;
} {
  if (!Array.isArray(reply) || reply.length < 3) {
    throw new Error(`unexpected upload quota reply: ${JSON.stringify(reply)}`);
  }
  const [verdict, bytes, videos, inflight] = reply as unknown[];
  if (verdict !== 'ok' && verdict !== 'concurrent' && verdict !== 'videos' && verdict !== 'bytes') {
    throw new Error(`unexpected upload quota verdict: ${String(verdict)}`);
  }
  return {
    verdict,
    bytesUsed: Number(bytes),
    videosUsed: Number(videos),
    inflight: Number(inflight ?? 0),
  };
}
