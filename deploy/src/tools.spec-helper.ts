// Shared by the deployment validation specs: locating the external tools they run, and
// running them with a readable failure.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import YAML from 'yaml';
import { which, type HostEnv } from '@framewise/stack';

/** The repository root. */
export const ROOT = path.resolve(__dirname, '..', '..');

/** The environment these helpers read PATH and CI from (pass `process.env`). */
export type ToolEnv = HostEnv;

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

/**
 * `it` when kubectl's built-in kustomize can build k8s/ (components and `labels` need v4+),
 * else `it.skip` with a loud warning, on CI too: Debian's kubernetes-client (1.20, kustomize
 * v2) is the only packaged fallback and is too old, so a missing or old kubectl is reported,
 * not failed.
 */
export function itWithKustomize(env: ToolEnv): jest.It {
  const kubectl = which('kubectl', env);
  let problem: string | undefined;
  if (kubectl === undefined) {
    problem = 'kubectl is not installed';
  } else {
    const result = spawnSync(kubectl, ['version', '--client', '-o', 'json'], { encoding: 'utf8' });
    const version = /"kustomizeVersion":\s*"v(\d+)/.exec(result.stdout)?.[1];
    if (version === undefined || Number(version) < 4) {
      problem = `kubectl's kustomize is ${version === undefined ? 'unknown' : `v${version}`}, older than v4`;
    }
  }
  if (problem === undefined) return it;
  console.warn(
    `${problem}: the k8s/ checks are SKIPPED. Install kubectl 1.21+ (Kubernetes' apt repository, or the binary from dl.k8s.io).`,
  );
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
