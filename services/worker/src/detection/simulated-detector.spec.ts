import { SimulatedDetector } from './simulated-detector';

/** A source that logs each pull and each item it hands out, ready at once. */
function loggingSource(count: number, log: string[]) {
  return (async function* () {
    for (let i = 0; i < count; i++) {
      log.push(`pull ${i}`);
      await Promise.resolve();
      yield { image: new Uint8Array(0), i };
    }
  })();
}

describe('SimulatedDetector.detectMany', () => {
  it('pulls the next batch while the current one "runs", as the real detector does', async () => {
    const log: string[] = [];
    const detector = new SimulatedDetector(30, 2);
    for await (const outcome of detector.detectMany(loggingSource(5, log))) {
      log.push(`out ${outcome.item.i}`);
    }
    // Batch 2 (items 2, 3) was pulled before batch 1's outcomes came out.
    expect(log.indexOf('pull 3')).toBeLessThan(log.indexOf('out 0'));
    expect(log.indexOf('pull 4')).toBeLessThan(log.indexOf('out 2'));
    expect(log.filter((l) => l.startsWith('out'))).toEqual([
      'out 0',
      'out 1',
      'out 2',
      'out 3',
      'out 4',
    ]);
  });

  it('takes only what is ready: a slow item starts the next batch', async () => {
    const detector = new SimulatedDetector(5, 4);
    const source = (async function* () {
      yield { image: new Uint8Array(0), i: 0 };
      await new Promise((r) => setTimeout(r, 20));
      yield { image: new Uint8Array(0), i: 1 };
    })();
    const started = performance.now();
    const seen: { i: number; at: number }[] = [];
    for await (const outcome of detector.detectMany(source)) {
      seen.push({ i: outcome.item.i, at: performance.now() - started });
    }
    expect(seen.map((s) => s.i)).toEqual([0, 1]);
    // Item 0 did not wait for item 1 to fill its batch.
    expect(seen[0]?.at).toBeLessThan(18);
  });

  it('closes the source when the consumer stops early', async () => {
    let closed = false;
    const source = (async function* () {
      try {
        for (let i = 0; ; i++) {
          await Promise.resolve();
          yield { image: new Uint8Array(0), i };
        }
      } finally {
        closed = true;
      }
    })();
    for await (const outcome of new SimulatedDetector(1, 2).detectMany(source)) {
      if (outcome.item.i === 3) break;
    }
    expect(closed).toBe(true);
  });
});
