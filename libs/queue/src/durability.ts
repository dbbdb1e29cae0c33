import { UnsafeRedisError, describeError } from './errors';
import { silentLogger, type QueueLogger, type RedisClient } from './redis-client';

/** What the startup check found. */
export interface DurabilityReport {
  /** False when CONFIG is disabled (managed Redis): nothing could be checked. */
  readonly checked: boolean;
  readonly appendonly: string | undefined;
  readonly maxmemoryPolicy: string | undefined;
  readonly maxmemory: number | undefined;
  /** Ways jobs could be lost or spuriously reclaimed, in words; empty when all is well. */
  readonly problems: readonly string[];
}

/** Options of {@link checkRedisDurability}. */
export interface DurabilityCheckOptions {
  /** `warn` (default) logs each problem; `refuse` throws {@link UnsafeRedisError}. */
  readonly onUnsafe?: 'warn' | 'refuse';
  readonly logger?: QueueLogger;
}

/**
 * Judges Redis settings for a queue that must not lose jobs. Pure: `config` maps CONFIG GET
 * names to values, or is undefined when CONFIG could not be read.
 */
export function assessDurability(
  config: Readonly<Record<string, string>> | undefined,
): DurabilityReport {
  if (config === undefined) {
    return {
      checked: false,
      appendonly: undefined,
      maxmemoryPolicy: undefined,
      maxmemory: undefined,
      problems: [],
    };
  }
  const appendonly = config.appendonly;
  const policy = config['maxmemory-policy'];
  const maxmemory = config.maxmemory === undefined ? undefined : Number(config.maxmemory);
  const problems: string[] = [];
  if (appendonly !== 'yes') {
    problems.push(
      `appendonly is ${appendonly ?? 'unknown'}: a Redis restart loses every job since the last snapshot (set appendonly yes)`,
    );
  }
  // With no memory limit nothing is ever evicted, whatever the policy says.
  const limited = maxmemory === undefined || maxmemory > 0;
  if (limited && policy !== undefined && policy !== 'noeviction') {
    problems.push(
      policy.startsWith('allkeys-')
        ? `maxmemory-policy is ${policy}: under memory pressure Redis deletes queue lists (set noeviction)`
        : `maxmemory-policy is ${policy}: under memory pressure Redis may evict heartbeats and reclaim live consumers' jobs (set noeviction)`,
    );
  }
  return { checked: true, appendonly, maxmemoryPolicy: policy, maxmemory, problems };
}

/**
 * The startup check every queue process runs: `CONFIG GET appendonly`, `maxmemory-policy` and
 * `maxmemory`. Warns loudly (or throws, with `onUnsafe: 'refuse'`) when jobs could be lost.
 * Managed Redis often disables CONFIG: then it logs that it could not check and carries on.
 */
export async function checkRedisDurability(
  redis: RedisClient,
  options: DurabilityCheckOptions = {},
): Promise<DurabilityReport> {
  const logger = options.logger ?? silentLogger;
  let config: Record<string, string> | undefined;
  try {
    config = {};
    for (const name of ['appendonly', 'maxmemory-policy', 'maxmemory']) {
      const reply = await redis.config('GET', name);
      if (Array.isArray(reply) && typeof reply[1] === 'string') config[name] = reply[1];
    }
  } catch (error) {
    config = undefined;
    logger.warn(
      { err: describeError(error) },
      'could not read Redis CONFIG (managed Redis?); make sure AOF is on and maxmemory-policy is noeviction',
    );
  }
  const report = assessDurability(config);
  if (report.problems.length > 0) {
    if (options.onUnsafe === 'refuse') {
      throw new UnsafeRedisError(
        `Redis could lose queued jobs: ${report.problems.join('; ')}`,
        report.problems,
      );
    }
    for (const problem of report.problems)
      logger.warn({ problem }, `UNSAFE REDIS FOR QUEUES: ${problem}`);
  }
  return report;
}
