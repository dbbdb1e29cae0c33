/** How long a job waits before its next delivery after a retryable failure. */
export interface RetryPolicy {
  /** Wait after the first failed delivery, before jitter. Default 1 s. */
  readonly baseDelayMs: number;
  /** Upper bound of any wait. Default 5 min. */
  readonly maxDelayMs: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = { baseDelayMs: 1000, maxDelayMs: 300_000 };

/**
 * The wait after the `failures`-th failed delivery: capped exponential backoff
 * (`base · 2^(failures-1)`, at most `max`) with "equal jitter": half of it fixed, half random,
 * so retries of jobs that failed together spread out yet never come back immediately.
 */
export function retryDelayMs(
  failures: number,
  policy: RetryPolicy,
  random: () => number = Math.random,
): number {
  const exponent = Math.min(Math.max(failures - 1, 0), 40);
  const capped = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** exponent);
  return Math.round(capped / 2 + random() * (capped / 2));
}

/**
 * The waits after failed deliveries 1 … maxDeliveries-1, drawn once per failure call and handed
 * to the Lua script, which only learns the delivery count inside Redis.
 */
export function retryDelays(
  maxDeliveries: number,
  policy: RetryPolicy,
  random: () => number = Math.random,
): number[] {
  const delays: number[] = [];
  for (let failures = 1; failures < maxDeliveries; failures++) {
    delays.push(retryDelayMs(failures, policy, random));
  }
  return delays;
}
