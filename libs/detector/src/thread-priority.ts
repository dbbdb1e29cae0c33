// Inference first: on a CPU host the detector's preprocessing (sharp's decode and resize on
// libuv's pool and libvips' workers) competes for the same cores as onnxruntime's threads, and
// every time the scheduler hands a core to a resize in the middle of a parallel operator, the
// whole operator waits for its slowest thread. Lowering the priority of the helper threads lets
// them fill the cores' idle gaps instead. Linux only: there, nice values are per thread.
import fs from 'node:fs';
import os from 'node:os';

/**
 * Sets nice `nice` (a lower CPU priority) on every thread of this process except the main JS
 * thread and `keep` (the inference threads). Threads started later by the lowered ones (new
 * libvips workers) inherit it. Threads already at that nice value or lower priority are left as
 * they are. Returns how many threads were lowered; 0 where /proc is not available.
 */
export function lowerHelperThreadPriority(keep: readonly number[], nice: number): number {
  let ids: number[];
  try {
    ids = fs.readdirSync('/proc/self/task').map(Number);
  } catch {
    return 0;
  }
  const kept = new Set([process.pid, ...keep]);
  let lowered = 0;
  for (const id of ids) {
    if (kept.has(id)) continue;
    try {
      if (os.getPriority(id) >= nice) continue;
      os.setPriority(id, nice);
      lowered++;
    } catch {
      // the thread ended meanwhile, or the platform does not allow it: nothing to do
    }
  }
  return lowered;
}
