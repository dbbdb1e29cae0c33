// Grouping a stream of items into batches: what a detector's detectMany reads its input with.
// Exported so that anything standing in for a detector (the worker's simulated detector) batches
// exactly as the real one does.

/** An async iterator over `source`, sync or async; `return` is passed on to the source. */
export function toAsyncIterator<T>(source: AsyncIterable<T> | Iterable<T>): AsyncIterator<T> {
  if (Symbol.asyncIterator in source) return source[Symbol.asyncIterator]();
  const it = source[Symbol.iterator]();
  return {
    next: () => Promise.resolve(it.next()),
    return: () => Promise.resolve(it.return?.() ?? { done: true, value: undefined }),
  };
}

/**
 * Groups a source into batches of up to `size`. It waits for the first item of a batch as long as
 * needed, then takes further items only while they arrive within `waitMs`: a slow source gets
 * its frames processed in small batches instead of held back until a batch fills.
 */
export class BatchReader<T> {
  private pending: Promise<IteratorResult<T>> | undefined;
  private done = false;

  constructor(
    private readonly iterator: AsyncIterator<T>,
    private readonly size: number,
    private readonly waitMs: number,
  ) {}

  async next(): Promise<T[] | undefined> {
    if (this.done) return undefined;
    const first = await this.take();
    if (first.done) {
      this.done = true;
      return undefined;
    }
    const items = [first.value];
    while (items.length < this.size) {
      this.pending ??= this.iterator.next();
      const result = await within(this.pending, this.waitMs);
      if (result === undefined) break; // not ready: keep it pending for the next batch
      this.pending = undefined;
      if (result.done) {
        this.done = true;
        break;
      }
      items.push(result.value);
    }
    return items;
  }

  async close(): Promise<void> {
    if (!this.done) {
      this.done = true;
      await this.iterator.return?.();
    }
  }

  private take(): Promise<IteratorResult<T>> {
    const pending = this.pending ?? this.iterator.next();
    this.pending = undefined;
    return pending;
  }
}

/** The promise's value if it settles within `ms` (0 = after pending I/O callbacks), else undefined. */
async function within<V>(promise: Promise<V>, ms: number): Promise<V | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => {
      resolve(undefined);
    }, ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
