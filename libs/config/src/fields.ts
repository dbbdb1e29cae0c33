import { z } from 'zod';

// Field builders for environment variables. Each one parses a string and, when it fails,
// says in words what it expects: that text is what an operator reads in the start-up error.

/** A whole number in [min, max]. */
export function int(options: { min?: number; max?: number; default?: number } = {}) {
  const { min = Number.MIN_SAFE_INTEGER, max = Number.MAX_SAFE_INTEGER } = options;
  const expected = describeRange('a whole number', min, max);
  const field = z
    .string({ error: expected })
    .trim()
    .regex(/^-?\d+$/, { error: expected })
    .transform(Number)
    .pipe(z.number().int().min(min, { error: expected }).max(max, { error: expected }));
  return options.default === undefined ? field : field.prefault(String(options.default));
}

/** A TCP port, 1–65535 (0 allowed when `allowZero`, meaning "any free port"). */
export function port(options: { default?: number; allowZero?: boolean } = {}) {
  return int({ min: options.allowZero ? 0 : 1, max: 65535, ...pickDefault(options.default) });
}

const TRUE = new Set(['true', '1', 'yes', 'on']);
const FALSE = new Set(['false', '0', 'no', 'off']);

/** true/false, 1/0, yes/no, on/off (any case). */
export function bool(options: { default?: boolean } = {}) {
  const expected = 'true or false';
  const field = z
    .string({ error: expected })
    .transform((v) => v.trim().toLowerCase())
    .refine((v) => TRUE.has(v) || FALSE.has(v), { error: expected })
    .transform((v) => TRUE.has(v));
  return options.default === undefined ? field : field.prefault(String(options.default));
}

/** One of a fixed set of words. */
export function oneOf<const T extends readonly [string, ...string[]]>(
  values: T,
  options: { default?: T[number] } = {},
) {
  const expected = `one of ${values.join(', ')}`;
  const field = z.enum(values, { error: expected });
  return options.default === undefined ? field : field.default(options.default as never);
}

/** A URL whose scheme is one of `protocols` (for example `['redis:', 'rediss:']`). */
export function url(protocols: readonly string[], options: { default?: string } = {}) {
  const schemes = protocols.map((p) => p.replace(/:$/, '')).join(' or ');
  const expected = `a ${schemes} URL, like ${protocols[0] ?? ''}//host:port`;
  const field = z.string({ error: expected }).refine(
    (v) => {
      try {
        return protocols.includes(new URL(v).protocol);
      } catch {
        return false;
      }
    },
    { error: expected },
  );
  return options.default === undefined ? field : field.prefault(options.default);
}

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** A duration such as `500ms`, `30s`, `5m`, `1h` (a bare number means milliseconds); parsed to ms. */
export function duration(options: { default?: string; min?: string; max?: string } = {}) {
  const min = options.min === undefined ? 0 : parseDuration(options.min);
  const max = options.max === undefined ? Number.MAX_SAFE_INTEGER : parseDuration(options.max);
  let expected = 'a duration like 500ms, 30s, 5m or 1h';
  if (options.min !== undefined || options.max !== undefined) {
    expected += ` (between ${options.min ?? '0'} and ${options.max ?? 'any'})`;
  }
  const field = z
    .string({ error: expected })
    .refine(
      (v) => {
        const ms = tryParseDuration(v);
        return ms !== undefined && ms >= min && ms <= max;
      },
      { error: expected },
    )
    .transform((v) => parseDuration(v));
  return options.default === undefined ? field : field.prefault(options.default);
}

/** A non-empty string (trimmed). */
export function text(options: { default?: string } = {}) {
  const field = z
    .string({ error: 'a non-empty value' })
    .trim()
    .min(1, { error: 'a non-empty value' });
  return options.default === undefined ? field : field.prefault(options.default);
}

/** A comma-separated list of non-empty items. */
export function list(options: { default?: readonly string[] } = {}) {
  const expected = 'a comma-separated list';
  const field = z
    .string({ error: expected })
    .transform((v) =>
      v
        .split(',')
        .map((s) => s.trim())
        .filter((s) => s.length > 0),
    )
    .refine((items) => items.length > 0, { error: expected });
  return options.default === undefined ? field : field.prefault(options.default.join(','));
}

function pickDefault(value: number | undefined): { default?: number } {
  return value === undefined ? {} : { default: value };
}

function describeRange(what: string, min: number, max: number): string {
  const hasMin = min !== Number.MIN_SAFE_INTEGER;
  const hasMax = max !== Number.MAX_SAFE_INTEGER;
  if (hasMin && hasMax) return `${what} from ${min} to ${max}`;
  if (hasMin) return `${what} of at least ${min}`;
  if (hasMax) return `${what} of at most ${max}`;
  return what;
}

function tryParseDuration(value: string): number | undefined {
  const match = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$/.exec(value);
  if (!match) return undefined;
  const amount = Number(match[1]);
  const unit = UNITS[match[2] ?? 'ms'] ?? 1;
  return Math.round(amount * unit);
}

/** Parses `500ms`, `30s`, `5m`, `1h` or a bare number of milliseconds. */
export function parseDuration(value: string): number {
  const ms = tryParseDuration(value);
  if (ms === undefined) throw new RangeError(`not a duration: ${JSON.stringify(value)}`);
  return ms;
}
