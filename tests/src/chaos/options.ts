// Command-line options of `npm run chaos` and the two profiles (full and short). Pure.
import { parseArgs } from 'node:util';

export type Fsync = 'everysec' | 'always';

/** Everything one invocation runs. */
export interface ChaosOptions {
  readonly mode: 'full' | 'short';
  /** One run per entry, in order. */
  readonly fsyncs: readonly Fsync[];
  readonly seed: number;
  readonly videos: number;
  /** Source video lengths, cycled over the videos (1280×720, 15 fps). */
  readonly videoSeconds: readonly number[];
  /** The fault window. */
  readonly durationMs: number;
  /** Mean gap between process kills. */
  readonly processKillEveryMs: number;
  readonly redisKills: number;
  readonly postgresRestarts: number;
  readonly clientKills: number;
  /** Uploads are spread over this first part of the window; infrastructure faults come after. */
  readonly uploadSpreadMs: number;
  /** How long the system may take to drain after the last fault before the run is judged. */
  readonly drainTimeoutMs: number;
  /** Keep the data directory (logs, Redis AOF, Postgres cluster) for inspection. */
  readonly keep: boolean;
}

const PROFILES = {
  full: {
    fsyncs: ['everysec', 'always'],
    videos: 14,
    videoSeconds: [30, 45, 60, 75],
    durationMs: 150_000,
    processKillEveryMs: 5_000,
    redisKills: 2,
    postgresRestarts: 2,
    clientKills: 3,
    uploadSpreadMs: 20_000,
    drainTimeoutMs: 300_000,
  },
  short: {
    fsyncs: ['everysec'],
    videos: 10,
    videoSeconds: [16, 24, 32, 40],
    durationMs: 70_000,
    processKillEveryMs: 6_000,
    redisKills: 1,
    postgresRestarts: 1,
    clientKills: 2,
    uploadSpreadMs: 12_000,
    drainTimeoutMs: 120_000,
  },
} as const;

export const USAGE = `usage: npm run chaos [-- options]      (npm run chaos:short = --short)

  --short             the short profile (one fsync mode, ${PROFILES.short.durationMs / 1000} s of faults; CI runs it)
  --fsync <mode>      everysec | always | both (default: both; --short: everysec)
  --seed <n>          replay a run's fault schedule (the report prints the seed)
  --videos <n>        videos uploaded per run (default ${PROFILES.full.videos}, short ${PROFILES.short.videos}; at least 10)
  --duration <s>      seconds of faults per run (default ${PROFILES.full.durationMs / 1000}, short ${PROFILES.short.durationMs / 1000})
  --keep              keep each run's data directory (service logs, AOF, Postgres)
  --help`;

/** Parses argv (without node and the script). Throws an Error with a usage hint on bad input. */
export function parseChaosArgs(
  argv: readonly string[],
  defaultSeed: number,
): ChaosOptions | 'help' {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      short: { type: 'boolean', default: false },
      fsync: { type: 'string' },
      seed: { type: 'string' },
      videos: { type: 'string' },
      duration: { type: 'string' },
      keep: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
    strict: true,
    allowPositionals: false,
  });
  if (values.help) return 'help';
  const mode = values.short ? 'short' : 'full';
  const profile = PROFILES[mode];
  let fsyncs: readonly Fsync[] = profile.fsyncs;
  if (values.fsync !== undefined) {
    if (values.fsync === 'both') fsyncs = ['everysec', 'always'];
    else if (values.fsync === 'everysec' || values.fsync === 'always') fsyncs = [values.fsync];
    else throw new Error(`--fsync must be everysec, always or both; got ${values.fsync}`);
  }
  const videos = integer('--videos', values.videos, profile.videos, 10, 200);
  const durationMs =
    1000 * integer('--duration', values.duration, profile.durationMs / 1000, 20, 3600);
  return {
    mode,
    fsyncs,
    seed: integer('--seed', values.seed, defaultSeed, 0, 2 ** 32 - 1),
    videos,
    videoSeconds: profile.videoSeconds,
    durationMs,
    processKillEveryMs: profile.processKillEveryMs,
    redisKills: profile.redisKills,
    postgresRestarts: profile.postgresRestarts,
    clientKills: profile.clientKills,
    uploadSpreadMs: Math.min(profile.uploadSpreadMs, Math.round(durationMs / 4)),
    drainTimeoutMs: profile.drainTimeoutMs,
    keep: values.keep,
  };
}

function integer(
  flag: string,
  text: string | undefined,
  fallback: number,
  min: number,
  max: number,
): number {
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new Error(`${flag} must be a whole number from ${min} to ${max}; got ${text}`);
  }
  return value;
}
