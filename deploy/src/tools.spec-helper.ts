// Shared by the deployment validation specs: locating the external tools they run, and
// running them with a readable failure.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';

/** The repository root. */
export const ROOT = path.resolve(__dirname, '..', '..');

/** The variables these helpers look at (pass `process.env`). */
export interface ToolEnv {
  readonly PATH?: string;
  readonly CI?: string;
}

/** A tool on PATH, or undefined. */
export function which(name: string, env: ToolEnv): string | undefined {
  for (const dir of (env.PATH ?? '').split(path.delimiter)) {
    const candidate = path.join(dir, name);
    try {
      fs.accessSync(candidate, fs.constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

/**
 * `it`, or `it.skip` with a loud warning when `tool` is missing. On CI (`CI` set) a missing tool
 * is a failure instead: `.ci/run` installs every one of them, so a skip there would hide a gap.
 */
export function itWith(tool: string, install: string, env: ToolEnv): jest.It {
  if (which(tool, env) !== undefined) return it;
  const message = `${tool} is not installed (${install}): the deployment checks that need it are SKIPPED`;
  if (env.CI) {
    return ((name: string) => {
      it(name, () => {
        throw new Error(message);
      });
    }) as unknown as jest.It;
  }
  console.warn(message);
  return it.skip;
}

/** Runs a command; throws with its output unless it exits 0. Returns stdout. */
export function run(
  command: string,
  args: readonly string[],
  options: { input?: string; cwd?: string; env?: NodeJS.ProcessEnv } = {},
): string {
  const result = spawnSync(command, args, {
    cwd: options.cwd ?? ROOT,
    input: options.input,
    ...(options.env ? { env: options.env } : {}),
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  if (result.error) throw result.error;
  if (result.status !== 0) {
    throw new Error(
      `${command} ${args.join(' ')} exited ${String(result.status)}:\n${result.stdout}\n${result.stderr}`,
    );
  }
  return result.stdout;
}

/** Every YAML document of a multi-document stream, as plain objects. */
export function parseAll(text: string): Record<string, unknown>[] {
  return YAML.parseAllDocuments(text)
    .map((doc) => doc.toJS() as unknown)
    .filter((doc): doc is Record<string, unknown> => typeof doc === 'object' && doc !== null);
}
