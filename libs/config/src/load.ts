import { z } from 'zod';

/** The environment as a plain map; `main.ts` passes `process.env`, tests pass a literal. */
export type Env = Readonly<Record<string, string | undefined>>;

/** One bad variable: its name, what it expects, and (when safe to show) what it got. */
export interface ConfigProblem {
  readonly variable: string;
  readonly expected: string;
  readonly received?: string;
}

/**
 * Thrown once, at start-up, when the environment does not satisfy a service's schema.
 * The message lists every bad variable, so an operator fixes them all in one go.
 */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';

  constructor(
    readonly service: string,
    readonly problems: readonly ConfigProblem[],
  ) {
    super(formatProblems(service, problems));
  }
}

function formatProblems(service: string, problems: readonly ConfigProblem[]): string {
  const lines = problems.map((p) => {
    const got = p.received === undefined ? 'it is not set' : `got ${p.received}`;
    return `  - ${p.variable}: expected ${p.expected}; ${got}`;
  });
  const count = problems.length === 1 ? '1 variable is' : `${problems.length} variables are`;
  return `Invalid configuration for ${service}: ${count} wrong. Fix the environment and restart.\n${lines.join('\n')}`;
}

export interface LoadConfigOptions {
  /** Service name, used in the error message. */
  readonly service: string;
  /**
   * Variable names whose values must never appear in error messages (passwords, keys).
   * Fields built with `secret()` are hidden automatically.
   */
  readonly secrets?: readonly string[];
}

/**
 * Parses the environment against a service's schema, once, at start-up.
 *
 * Keys of the schema are environment variable names. The result is the typed, defaulted
 * config object that `main.ts` passes down; nothing else in the service reads the environment.
 *
 * @throws ConfigError listing every bad variable.
 */
export function loadConfig<S extends z.ZodObject>(
  schema: S,
  env: Env,
  options: LoadConfigOptions,
): z.output<S> {
  // Empty strings mean "unset" for every variable: `FOO=` in a compose file should fall
  // back to the default, not fail as an invalid number.
  const input: Record<string, string> = {};
  for (const key of Object.keys(schema.shape)) {
    const value = env[key];
    if (value !== undefined && value.trim() !== '') input[key] = value;
  }

  const result = schema.safeParse(input);
  if (result.success) return result.data;

  const hidden = new Set([...(options.secrets ?? []), ...secretKeys(schema)]);
  const seen = new Set<string>();
  const problems: ConfigProblem[] = [];
  for (const issue of result.error.issues) {
    const variable = issue.path.length > 0 ? String(issue.path[0]) : '(environment)';
    if (seen.has(variable)) continue; // one line per variable, its first problem
    seen.add(variable);
    const raw = input[variable];
    problems.push({
      variable,
      expected: issue.message,
      ...(raw === undefined
        ? {}
        : { received: hidden.has(variable) ? '(hidden)' : JSON.stringify(raw) }),
    });
  }
  throw new ConfigError(options.service, problems);
}

// Secret fields are remembered in a zod registry rather than by wrapping, so `secret()` can be
// applied to any field, and the field keeps its own type.
const secretFields = z.registry<{ secret: true }>();

/** Marks a field as secret: its value is never echoed in errors or in `describeConfig`. */
export function secret<T extends z.ZodType>(field: T): T {
  secretFields.add(field, { secret: true });
  return field;
}

function secretKeys(schema: z.ZodObject): string[] {
  return Object.entries(schema.shape)
    .filter(([, field]) => secretFields.has(field as z.ZodType))
    .map(([key]) => key);
}

/**
 * A loggable copy of a parsed config: secret fields replaced, credentials in URLs masked.
 * Services log this at start so operators see what the process actually runs with.
 */
export function describeConfig<S extends z.ZodObject>(
  schema: S,
  config: z.output<S>,
): Record<string, unknown> {
  const hidden = new Set(secretKeys(schema));
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(config as Record<string, unknown>)) {
    if (hidden.has(key)) out[key] = value === undefined ? undefined : '(hidden)';
    else if (typeof value === 'string') out[key] = maskUrlPassword(value);
    else out[key] = value;
  }
  return out;
}

/** Replaces the password of a URL (`redis://:pw@host`, `postgres://u:pw@h/db`) with `***`. */
export function maskUrlPassword(value: string): string {
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(value)) return value;
  try {
    const url = new URL(value);
    if (url.password === '') return value;
    url.password = '***';
    return url.toString();
  } catch {
    return value;
  }
}
