import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { waitUntil } from './servers/processes';

/** The long-running framewise services. */
export type Role = 'api' | 'extractor' | 'worker' | 'reaper';

export const ROLES: readonly Role[] = ['api', 'extractor', 'worker', 'reaper'];

/** A one-shot or long-running entry: its main.ts and the tsconfig whose paths it resolves with. */
export interface Entry {
  readonly main: string;
  readonly tsconfig: string;
}

/** Entries relative to the repository root. */
export const ENTRIES: Readonly<Record<Role | 'migrate' | 'keys', Entry>> = {
  api: {
    main: 'services/ingestion/src/api/main.ts',
    tsconfig: 'services/ingestion/tsconfig.json',
  },
  extractor: {
    main: 'services/ingestion/src/extractor/main.ts',
    tsconfig: 'services/ingestion/tsconfig.json',
  },
  worker: { main: 'services/worker/src/main.ts', tsconfig: 'services/worker/tsconfig.json' },
  reaper: { main: 'services/reaper/src/main.ts', tsconfig: 'services/reaper/tsconfig.json' },
  migrate: { main: 'libs/db/src/main.ts', tsconfig: 'libs/db/tsconfig.json' },
  keys: {
    main: 'services/ingestion/src/keys/main.ts',
    tsconfig: 'services/ingestion/tsconfig.json',
  },
};

/** One running service process of a stack. */
export interface ServiceProcess {
  readonly role: Role;
  /** `worker-2`: unique in the stack; also its log file's name and, for workers and extractors, its consumer id. */
  readonly name: string;
  readonly pid: number;
  /** Where its /healthz, /readyz and /metrics answer (the API's own URL for the API). */
  readonly opsUrl: string;
  /** Resolves with the exit code (null when killed by a signal). */
  readonly exited: Promise<number | null>;
  /** SIGKILL: no shutdown at all. Resolves once it is gone. */
  kill(): Promise<void>;
  /** SIGTERM, then the exit code (SIGKILL after the stack's stop timeout). */
  terminate(): Promise<number | null>;
  /**
   * SIGKILL this process if it still runs, then start it again with the same name, ports and
   * environment; resolves with the new process once its /readyz answers. The stack's
   * `processes()` lists the new one instead of this one.
   */
  restart(): Promise<ServiceProcess>;
  /** The last lines it printed (stdout and stderr), for failure messages. */
  recentOutput(): string;
}

export interface LaunchOptions {
  readonly role: Role;
  readonly name: string;
  readonly rootDir: string;
  readonly env: Readonly<Record<string, string>>;
  readonly opsUrl: string;
  readonly logFile: string;
  readonly readyTimeoutMs: number;
  readonly stopTimeoutMs: number;
  readonly onLog?: ((service: string, line: string) => void) | undefined;
  /** Called when the process has started (to track it) and when it exits. */
  readonly onSpawn: (child: ChildProcess) => void;
  readonly restart: (old: ServiceProcess) => Promise<ServiceProcess>;
}

/**
 * Starts `node --import tsx <entry>` (not the tsx CLI: a SIGKILL of the pid we hold must kill
 * the service itself, not a wrapper) in its own process group, its output appended to
 * `logFile` and passed line by line to `onLog`; resolves once `<opsUrl>/readyz` answers 200.
 */
export async function launchService(options: LaunchOptions): Promise<ServiceProcess> {
  const entry = ENTRIES[options.role];
  const child = spawnEntry(entry, options.rootDir, options.env);
  options.onSpawn(child);
  const pid = child.pid;
  if (pid === undefined) throw new Error(`could not start ${options.name}`);

  const recent: string[] = [];
  const log = fs.createWriteStream(options.logFile, { flags: 'a' });
  const exited = new Promise<number | null>((resolve) => {
    child.once('exit', (code) => {
      resolve(code);
    });
  });
  // The log stream closes only after both pipes have ended, so no line is written after it.
  let open = 2;
  const onEnd = () => {
    open -= 1;
    if (open === 0) log.end();
  };
  for (const stream of [child.stdout, child.stderr]) {
    if (stream === null) {
      onEnd();
      continue;
    }
    forEachLine(stream, (line) => {
      log.write(`${line}\n`);
      recent.push(line);
      if (recent.length > 100) recent.shift();
      options.onLog?.(options.name, line);
    });
    stream.once('end', onEnd);
  }

  const running = () => child.exitCode === null && child.signalCode === null;
  const process: ServiceProcess = {
    role: options.role,
    name: options.name,
    pid,
    opsUrl: options.opsUrl,
    exited,
    kill: async () => {
      if (running()) child.kill('SIGKILL');
      await exited;
    },
    terminate: async () => {
      if (running()) child.kill('SIGTERM');
      const timer = setTimeout(() => {
        if (running()) child.kill('SIGKILL');
      }, options.stopTimeoutMs);
      try {
        return await exited;
      } finally {
        clearTimeout(timer);
      }
    },
    restart: () => options.restart(process),
    recentOutput: () => recent.join('\n'),
  };

  try {
    await waitUntil(() => answers(`${options.opsUrl}/readyz`), {
      timeoutMs: options.readyTimeoutMs,
      intervalMs: 100,
      abortIf: () =>
        running()
          ? undefined
          : `${options.name} exited with ${String(child.exitCode ?? child.signalCode)} before it was ready`,
      describe: () => `${options.name} (pid ${pid}) printed:\n${process.recentOutput()}`,
    });
  } catch (error) {
    await process.kill();
    throw error;
  }
  return process;
}

/** Runs a one-shot entry (migrations, key creation) to its end; rejects on a non-zero exit. */
export async function runEntry(
  which: 'migrate' | 'keys',
  rootDir: string,
  env: Readonly<Record<string, string>>,
  args: readonly string[] = [],
): Promise<string> {
  const child = spawnEntry(ENTRIES[which], rootDir, env, args);
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    stdout += chunk.toString('utf8');
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString('utf8');
  });
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (c) => {
      resolve(c);
    });
  });
  if (code !== 0) {
    throw new Error(`${which} failed (exit ${String(code)}):\n${stderr.trim() || stdout.trim()}`);
  }
  return stdout;
}

function spawnEntry(
  entry: Entry,
  rootDir: string,
  env: Readonly<Record<string, string>>,
  args: readonly string[] = [],
): ChildProcess {
  return spawn(process.execPath, ['--import', 'tsx', path.join(rootDir, entry.main), ...args], {
    cwd: rootDir,
    env: { ...env, TSX_TSCONFIG_PATH: path.join(rootDir, entry.tsconfig) },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
}

function forEachLine(stream: NodeJS.ReadableStream, onLine: (line: string) => void): void {
  let buffered = '';
  stream.on('data', (chunk: Buffer | string) => {
    buffered += chunk.toString();
    let newline = buffered.indexOf('\n');
    while (newline !== -1) {
      onLine(buffered.slice(0, newline));
      buffered = buffered.slice(newline + 1);
      newline = buffered.indexOf('\n');
    }
  });
  stream.once('end', () => {
    if (buffered !== '') onLine(buffered);
  });
}

async function answers(url: string): Promise<boolean> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(2000) });
    await response.body?.cancel();
    return response.ok;
  } catch {
    return false;
  }
}
