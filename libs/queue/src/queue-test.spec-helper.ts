// Test-only helpers shared by the queue's integration tests (excluded from builds).
import { z } from 'zod';
import { defineQueue, type QueueDefinition, type QueueOptions } from './definition';

export const TestJob = z.object({ n: z.number().int(), note: z.string().optional() });
export type TestJob = z.infer<typeof TestJob>;

/** A queue of {@link TestJob} under `keyPrefix`, with fast retries for tests. */
export function testQueue(
  keyPrefix: string,
  overrides: Partial<QueueOptions<TestJob>> = {},
): QueueDefinition<TestJob> {
  return defineQueue({
    name: 'jobs',
    schema: TestJob,
    keyPrefix,
    maxDeliveries: 3,
    retry: { baseDelayMs: 5, maxDelayMs: 20 },
    ...overrides,
  });
}

/** `count` jobs numbered from `from`, with ids `j<n>`. */
export function numberedJobs(count: number, from = 0): { id: string; data: TestJob }[] {
  return Array.from({ length: count }, (_, i) => ({ id: `j${from + i}`, data: { n: from + i } }));
}

/** Polls `check` until it returns true, or fails after `timeoutMs` naming `what`. */
export async function waitFor(
  what: string,
  check: () => boolean | Promise<boolean>,
  timeoutMs = 15_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
