// Runs an entry of the workspace (a service's main.ts, a CLI) as a real process, for crash
// tests. `node --import tsx`, not the tsx binary: the binary runs the script in a grandchild
// that a SIGKILL of tsx would leave running.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '../../..');

/** A running entry: its recent output (for failure messages and log checks) and how to stop it. */
export interface EntryProcess {
  readonly child: ChildProcess;
  readonly output: string[];
  /** The exit code (null after a signal), once the output written before the exit is read. */
  readonly exited: Promise<number | null>;
  /** SIGKILL: no shutdown at all. */
  kill(): Promise<void>;
  /** SIGTERM, then wait for the exit. */
  terminate(): Promise<number | null>;
}

/** What to run: paths relative to the workspace root. */
export interface EntrySpec {
  readonly script: string;
  readonly tsconfig: string;
  /** The whole environment (plus test defaults): nothing leaks in from the test runner's. */
  readonly env: Record<string, string>;
  readonly args?: readonly string[];
  /** Output chunks kept (the oldest dropped). Default 500. */
  readonly keepChunks?: number;
}

/**
 * Starts `spec.script` with `spec.env` over the defaults OPS_PORT=0, OPS_HOST=127.0.0.1 and
 * LOG_LEVEL=warn. Pass PATH (ffmpeg) and HOME in `env` when the entry needs them.
 */
export function startEntryProcess(spec: EntrySpec): EntryProcess {
  const output: string[] = [];
  const keepChunks = spec.keepChunks ?? 500;
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', path.join(ROOT, spec.script), ...(spec.args ?? [])],
    {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        TSX_TSCONFIG_PATH: path.join(ROOT, spec.tsconfig),
        OPS_PORT: '0',
        OPS_HOST: '127.0.0.1',
        LOG_LEVEL: 'warn',
        ...spec.env,
      },
    },
  );
  const keep = (chunk: Buffer) => {
    output.push(chunk.toString());
    if (output.length > keepChunks) output.shift();
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  const exited = new Promise<number | null>((resolve) => {
    child.once('exit', (code) => {
      void outputRead(child).then(() => {
        resolve(code);
      });
    });
  });
  const alive = () => child.exitCode === null && child.signalCode === null;
  return {
    child,
    output,
    exited,
    kill: async () => {
      if (alive()) child.kill('SIGKILL');
      await exited;
    },
    terminate: async () => {
      if (alive()) child.kill('SIGTERM');
      return exited;
    },
  };
}

/**
 * Resolves once the child's pipes are read out, or after `limitMs`: 'exit' can come before the
 * last lines written are read (a test then misses them), and a grandchild that inherited the
 * pipes could keep them open long after.
 */
export function outputRead(child: ChildProcess, limitMs = 2_000): Promise<void> {
  const ended = [child.stdout, child.stderr].map((stream) =>
    stream === null || stream.readableEnded ? Promise.resolve() : once(stream, 'end'),
  );
  let timer: NodeJS.Timeout | undefined;
  const limit = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, limitMs);
  });
  return Promise.race([Promise.all(ended).then(() => undefined), limit]).finally(() => {
    clearTimeout(timer);
  });
}
