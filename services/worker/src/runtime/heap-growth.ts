import v8 from 'node:v8';

/**
 * Lets V8 grow the JavaScript heap to (1 + percent/100) × its live size before the next full
 * collection, instead of its own choice (0 keeps V8's heuristic).
 *
 * Why the worker needs it: its live heap is small (about 22 MB: the libraries' code and
 * state) and it allocates little on it, because what it moves per frame (the JPEG, the decoded
 * pixels, the input tensor and the model output, several MB) lives off the heap in
 * ArrayBuffers. V8 then sizes the next limit only a few MB above the live heap, closer than
 * the room it keeps for a young generation's worth of promotions, so a new marking cycle
 * starts almost as soon as one ends: bench:worker measured 25 full collections per 96 frames,
 * 12-14 ms of CPU per frame on the JavaScript thread and V8's helper threads, taken from
 * inference on a busy host. At 300 the heap may reach about 90 MB before a collection (some
 * 70 MB more per process, next to onnxruntime's hundreds) and collections become rare.
 *
 * V8 reads the flag whenever it recomputes the limit, so setting it at start-up, before the
 * first full collection, takes effect for the whole process (checked on Node 20 and 24).
 */
export function applyHeapGrowth(
  percent: number,
  setFlags: (flags: string) => void = (flags) => {
    v8.setFlagsFromString(flags);
  },
): boolean {
  if (!Number.isInteger(percent) || percent < 0) {
    throw new RangeError(`heap growth must be a whole percentage >= 0, got ${percent}`);
  }
  if (percent === 0) return false;
  setFlags(`--heap-growing-percent=${percent}`);
  return true;
}
