import { spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';

/** True while a process with this pid exists (ours or not). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Direct children of a process, from /proc (Linux) or `ps` elsewhere. */
export function childrenOf(pid: number): number[] {
  if (process.platform === 'linux') {
    try {
      const raw = fs.readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim();
      return raw === '' ? [] : raw.split(/\s+/).map(Number);
    } catch {
      return [];
    }
  }
  const out = spawnSync('pgrep', ['-P', String(pid)], { encoding: 'utf8' });
  return out.stdout.split(/\s+/).filter(Boolean).map(Number);
}

/** SIGKILLs a process and its direct children (a Postgres postmaster and its backends). */
export function killTree(pid: number): void {
  const children = childrenOf(pid);
  for (const p of [pid, ...children]) {
    try {
      process.kill(p, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

/** Resolves when the child has exited (immediately if it already has). */
export function waitForExit(child: ChildProcess, timeoutMs = 10_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      reject(new Error(`process ${child.pid ?? '?'} did not exit within ${timeoutMs} ms`));
    }, timeoutMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/** Polls `probe` until it resolves true, or fails with `describe()` after `timeoutMs`. */
export async function waitUntil(
  probe: () => Promise<boolean>,
  options: {
    timeoutMs: number;
    intervalMs?: number;
    describe: () => string;
    abortIf?: () => string | undefined;
  },
): Promise<void> {
  const deadline = Date.now() + options.timeoutMs;
  for (;;) {
    const reason = options.abortIf?.();
    if (reason !== undefined) throw new Error(`${reason}\n${options.describe()}`);
    if (await probe()) return;
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${options.timeoutMs} ms\n${options.describe()}`);
    }
    await new Promise((r) => setTimeout(r, options.intervalMs ?? 20));
  }
}

/** The last lines of a log file, for error messages. */
export function tailOf(file: string, lines = 20): string {
  try {
    return fs.readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}
