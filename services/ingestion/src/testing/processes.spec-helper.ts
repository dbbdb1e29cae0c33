// Runs an entry of a framewise service as a real process, for crash tests (the pattern of
// services/worker/src/testing/processes.spec-helper.ts). `node --import tsx`, not the tsx
// binary: the binary runs the script in a grandchild that a SIGKILL of tsx would leave running.
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '../../../..');

/** A running entry: its output (for failure messages and log checks) and how to stop it. */
export interface ServiceProcess {
  readonly child: ChildProcess;
  readonly output: string[];
  readonly exited: Promise<number | null>;
  /** SIGKILL: no shutdown at all. */
  kill(): Promise<void>;
  /** SIGTERM, then wait for the exit. */
  terminate(): Promise<number | null>;
}

/** Entries a test may start: this service's own (API, keys CLI, extractor), and the reaper. */
const ENTRIES = {
  api: ['services/ingestion/src/api/main.ts', 'services/ingestion/tsconfig.json'],
  keys: ['services/ingestion/src/keys/main.ts', 'services/ingestion/tsconfig.json'],
  extractor: ['services/ingestion/src/extractor/main.ts', 'services/ingestion/tsconfig.json'],
  reaper: ['services/reaper/src/main.ts', 'services/reaper/tsconfig.json'],
} as const;

/**
 * Starts an entry with only `env` (plus test defaults): nothing leaks in from the test
 * runner's environment. Pass PATH (ffmpeg) in `env`.
 */
export function startProcess(
  entry: keyof typeof ENTRIES,
  env: Record<string, string>,
  args: readonly string[] = [],
): ServiceProcess {
  const [script, tsconfig] = ENTRIES[entry];
  const output: string[] = [];
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, script), ...args], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      TSX_TSCONFIG_PATH: path.join(ROOT, tsconfig),
      OPS_PORT: '0',
      OPS_HOST: '127.0.0.1',
      LOG_LEVEL: 'warn',
      ...env,
    },
  });
  const keep = (chunk: Buffer) => {
    output.push(chunk.toString());
    if (output.length > 500) output.shift();
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
