// Runs the worker and the reaper as real processes (their main.ts), for crash tests.
// `node --import tsx`, not the tsx binary: the binary runs the script in a grandchild that a
// SIGKILL of the tsx process would leave running.
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '../../../..');

/** A service process: its output (for failure messages) and how to stop it. */
export interface ServiceProcess {
  readonly child: ChildProcess;
  readonly output: string[];
  readonly exited: Promise<number | null>;
  /** SIGKILL: no shutdown at all. */
  kill(): Promise<void>;
  /** SIGTERM, then wait for the exit. */
  terminate(): Promise<number | null>;
}

/**
 * Starts `services/<service>/src/main.ts` with only `env` (plus test defaults): nothing leaks
 * in from the test runner's environment. Pass PATH / HOME in `env` when needed.
 */
export function startService(
  service: 'worker' | 'reaper',
  env: Record<string, string>,
): ServiceProcess {
  const output: string[] = [];
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', path.join(ROOT, 'services', service, 'src', 'main.ts')],
    {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        TSX_TSCONFIG_PATH: path.join(ROOT, 'services', service, 'tsconfig.json'),
        OPS_PORT: '0',
        OPS_HOST: '127.0.0.1',
        LOG_LEVEL: 'warn',
        ...env,
      },
    },
  );
  const keep = (chunk: Buffer) => {
    output.push(chunk.toString());
    if (output.length > 200) output.shift();
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  const exited = new Promise<number | null>((resolve) => {
    child.once('exit', (code) => {
      resolve(code);
    });
  });
  return {
    child,
    output,
    exited,
    kill: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
    terminate: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      return exited;
    },
  };
}
