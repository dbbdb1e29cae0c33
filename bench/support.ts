// Shared helpers for benchmarks (`npm run bench:<name>`). Conventions:
// - ours and the baseline run in the same process run, interleaved, several times; report
//   medians and ratios, never absolute goals alone (this machine is shared and noisy);
// - progress goes to stderr; the LAST line on stdout is one JSON object with the figures.

/** Median of a non-empty list. */
export function median(values: readonly number[]): number {
  if (values.length === 0) throw new Error('median of nothing');
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[mid] ?? 0)
    : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
}

/** Runs `fn` and returns how long it took in milliseconds. */
export async function timeMs(fn: () => Promise<void>): Promise<number> {
  const start = performance.now();
  await fn();
  return performance.now() - start;
}

/** A progress line for a person watching (stderr, so stdout stays machine-readable). */
export function progress(message: string): void {
  process.stderr.write(`${message}\n`);
}

/** Rounds to `digits` decimals (for readable JSON). */
export function round(value: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

/** Prints the benchmark's result as the last line of stdout. */
export function report(result: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify(result)}\n`);
}
