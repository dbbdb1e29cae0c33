import type { SchedulePlan } from './schedule';
import { FAULT_KINDS, countByKind, planFaults, roleOf, seededRandom } from './schedule';

const plan: SchedulePlan = {
  durationMs: 70_000,
  seed: 42,
  processKillEveryMs: 6_000,
  redisKills: 1,
  flushalls: 1,
  postgresRestarts: 1,
  clientKills: 2,
  infraFromMs: 17_000,
};

describe('seededRandom', () => {
  it('repeats its sequence for a seed and stays in [0, 1)', () => {
    const a = seededRandom(7);
    const b = seededRandom(7);
    const c = seededRandom(8);
    const seqA = Array.from({ length: 1000 }, () => a());
    expect(Array.from({ length: 1000 }, () => b())).toEqual(seqA);
    expect(Array.from({ length: 1000 }, () => c())).not.toEqual(seqA);
    expect(seqA.every((x) => x >= 0 && x < 1)).toBe(true);
  });
});

describe('planFaults', () => {
  it('is the same plan for the same seed and a different one for another seed', () => {
    expect(planFaults(plan)).toEqual(planFaults(plan));
    expect(planFaults({ ...plan, seed: 43 })).not.toEqual(planFaults(plan));
  });

  it('has exactly the infrastructure faults asked for, each in its own slot after infraFromMs', () => {
    for (let seed = 0; seed < 50; seed++) {
      const faults = planFaults({ ...plan, seed });
      const counts = countByKind(faults);
      expect(counts.redis_kill).toBe(1);
      expect(counts.redis_flushall).toBe(1);
      expect(counts.postgres_restart).toBe(1);
      expect(counts.redis_client_kill).toBe(2);
      const infra = faults.filter((f) => roleOf(f.kind) === undefined);
      const slot = (plan.durationMs - plan.infraFromMs) / infra.length;
      infra.forEach((f, i) => {
        // Middle half of slot i: at least half a slot from its neighbours.
        expect(f.atMs).toBeGreaterThanOrEqual(plan.infraFromMs + slot * (i + 0.25) - 1);
        expect(f.atMs).toBeLessThanOrEqual(plan.infraFromMs + slot * (i + 0.75) + 1);
      });
    }
  });

  it('kills processes all along the window, every role, sorted by time', () => {
    const faults = planFaults({ ...plan, durationMs: 600_000 });
    const kills = faults.filter((f) => roleOf(f.kind) !== undefined);
    // Mean gap 6 s over 600 s: about 100 kills.
    expect(kills.length).toBeGreaterThan(70);
    expect(kills.length).toBeLessThan(130);
    const counts = countByKind(kills);
    expect(counts.worker_kill).toBeGreaterThan(counts.extractor_kill);
    expect(counts.extractor_kill).toBeGreaterThan(0);
    expect(counts.reaper_kill).toBeGreaterThan(0);
    expect(faults.map((f) => f.atMs)).toEqual([...faults.map((f) => f.atMs)].sort((a, b) => a - b));
    expect(faults.every((f) => f.atMs >= 0 && f.atMs < 600_000)).toBe(true);
    expect(faults.every((f) => f.pick >= 0 && f.pick < 1)).toBe(true);
  });

  it('refuses a window that cannot hold the plan', () => {
    expect(() => planFaults({ ...plan, durationMs: 0 })).toThrow(/durationMs/);
    expect(() => planFaults({ ...plan, infraFromMs: 70_000 })).toThrow(/infraFromMs/);
  });
});

describe('countByKind', () => {
  it('lists every kind, zero when absent', () => {
    const counts = countByKind([{ kind: 'redis_kill' }, { kind: 'redis_kill' }]);
    expect(Object.keys(counts)).toEqual([...FAULT_KINDS]);
    expect(counts.redis_kill).toBe(2);
    expect(counts.worker_kill).toBe(0);
  });
});
