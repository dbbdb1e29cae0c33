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
    // Item 1 is held back until the consumer has seen item 0. A detector that waited for item 1
    // to fill its batch would sit until the fallback timer released it, and the log says so.
    // No wall-clock bound: the order of events is the assertion, so a loaded host cannot fail it.
    const log: string[] = [];
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const detector = new SimulatedDetector(5, 4);
    const source = (async function* () {
      yield { image: new Uint8Array(0), i: 0 };
      const fallback = setTimeout(() => {
        log.push('item 1 released by the fallback timer');
        release();
      }, 2_000);
      await gate;
      clearTimeout(fallback);
      yield { image: new Uint8Array(0), i: 1 };
    })();
    for await (const outcome of detector.detectMany(source)) {
      log.push(`out ${outcome.item.i}`);
      release();
    }
    expect(log).toEqual(['out 0', 'out 1']);
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
