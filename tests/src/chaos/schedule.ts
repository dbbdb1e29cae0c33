// The fault schedule: which fault, when, decided up front from a seed so a failing run can be
// replayed with the same seed (`--seed`). Pure: no I/O.

/** Every kind of fault the injector knows, in the order the report lists them. */
export const FAULT_KINDS = [
  'worker_kill',
  'extractor_kill',
  'reaper_kill',
  'redis_kill',
  'redis_flushall',
  'postgres_restart',
  'redis_client_kill',
] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

/** A service role whose processes are SIGKILLed and started again. */
export type ProcessRole = 'worker' | 'extractor' | 'reaper';

/** One planned fault. */
export interface PlannedFault {
  /** Milliseconds after the fault window opens. */
  readonly atMs: number;
  readonly kind: FaultKind;
  /**
   * How long the victim stays down before it is started again (process kills and Redis kills);
   * 0 for faults that do not take anything down.
   */
  readonly downMs: number;
  /** Picks the victim among candidates (a process, a worker connection): a number in [0, 1). */
  readonly pick: number;
  /**
   * Process kills: true when the replacement is a new process with a new name and consumer id
   * (a Deployment's new pod: the dead consumer's jobs must be reclaimed by a reaper), false when
   * the same process is started again under its old id (a StatefulSet's pod: it recovers its
   * own processing list at start).
   */
  readonly newIdentity: boolean;
}

/** How many of each fault, over how long. */
export interface SchedulePlan {
  readonly durationMs: number;
  readonly seed: number;
  /** Mean gap between two process kills (they arrive at random, uniformly 0.5×–1.5× this). */
  readonly processKillEveryMs: number;
  readonly redisKills: number;
  readonly flushalls: number;
  readonly postgresRestarts: number;
  readonly clientKills: number;
  /** Faults that hit infrastructure start no earlier than this (uploads are still arriving before it). */
  readonly infraFromMs: number;
  /** Process-kill weights by role; workers are most numerous, so they die most often. */
  readonly roleWeights?: Readonly<Record<ProcessRole, number>>;
}

const DEFAULT_WEIGHTS: Readonly<Record<ProcessRole, number>> = {
  worker: 0.5,
  extractor: 0.25,
  reaper: 0.25,
};

/** mulberry32: a small, fast, well-mixed 32-bit PRNG; enough for picking fault times. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * The faults of one run, sorted by time. Faults that hit infrastructure (Redis kills, the
 * FLUSHALL, Postgres restarts, connection kills) each get their own equal slot of the window
 * after `infraFromMs`, in a shuffled order, at a random point of the slot's middle half: so
 * each has time to take effect before the next, and none lands in the last moments of the
 * window. Process kills arrive all along the window.
 */
export function planFaults(plan: SchedulePlan): PlannedFault[] {
  if (plan.durationMs <= 0) throw new Error('planFaults: durationMs must be positive');
  if (plan.infraFromMs < 0 || plan.infraFromMs >= plan.durationMs) {
    throw new Error('planFaults: infraFromMs must lie inside the window');
  }
  const random = seededRandom(plan.seed);
  const faults: PlannedFault[] = [];

  const infra: FaultKind[] = [
    ...repeat('redis_kill', plan.redisKills),
    ...repeat('redis_flushall', plan.flushalls),
    ...repeat('postgres_restart', plan.postgresRestarts),
    ...repeat('redis_client_kill', plan.clientKills),
  ];
  shuffle(infra, random);
  const slot = (plan.durationMs - plan.infraFromMs) / Math.max(infra.length, 1);
  infra.forEach((kind, i) => {
    const atMs = Math.round(plan.infraFromMs + slot * (i + 0.25 + 0.5 * random()));
    const downMs = kind === 'redis_kill' ? Math.round(500 + 2500 * random()) : 0;
    faults.push({ atMs, kind, downMs, pick: random(), newIdentity: false });
  });

  const weights = plan.roleWeights ?? DEFAULT_WEIGHTS;
  const total = weights.worker + weights.extractor + weights.reaper;
  const gap = () => plan.processKillEveryMs * (0.5 + random());
  for (let atMs = gap(); atMs < plan.durationMs; atMs += gap()) {
    const r = random() * total;
    const role: ProcessRole =
      r < weights.worker
        ? 'worker'
        : r < weights.worker + weights.extractor
          ? 'extractor'
          : 'reaper';
    faults.push({
      atMs: Math.round(atMs),
      kind: `${role}_kill`,
      downMs: Math.round(2000 * random()),
      pick: random(),
      newIdentity: random() < 0.5,
    });
  }
  return faults.sort((a, b) => a.atMs - b.atMs);
}

/** The role a process-kill fault hits, or undefined for other faults. */
export function roleOf(kind: FaultKind): ProcessRole | undefined {
  switch (kind) {
    case 'worker_kill':
      return 'worker';
    case 'extractor_kill':
      return 'extractor';
    case 'reaper_kill':
      return 'reaper';
    case 'redis_kill':
    case 'redis_flushall':
    case 'postgres_restart':
    case 'redis_client_kill':
      return undefined;
  }
}

/** Counts by kind, every kind present (0 when none). */
export function countByKind(faults: readonly { kind: FaultKind }[]): Record<FaultKind, number> {
  const counts = Object.fromEntries(FAULT_KINDS.map((k) => [k, 0])) as Record<FaultKind, number>;
  for (const f of faults) counts[f.kind] += 1;
  return counts;
}

function repeat(value: FaultKind, n: number): FaultKind[] {
  return Array.from({ length: n }, () => value);
}

function shuffle(items: FaultKind[], random: () => number): void {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    const a = items[i];
    const b = items[j];
    if (a === undefined || b === undefined) continue;
    items[i] = b;
    items[j] = a;
  }
}
