import { spawn } from 'node:child_process';
import type { ChildProcess, SpawnOptions } from 'node:child_process';
import { killTree, tailOf, waitForExit, waitUntil } from './processes';

export interface LaunchSpec {
  readonly command: string;
  readonly args: readonly string[];
  readonly options?: SpawnOptions;
  /** Resolves true once the server answers. */
  readonly ready: () => Promise<boolean>;
  readonly timeoutMs: number;
  readonly intervalMs?: number;
  /** Runs right after the spawn (e.g. to close a log file descriptor the child inherited). */
  readonly afterSpawn?: () => void;
}

/**
 * The lifecycle every local server shares: launch and wait until it answers, SIGKILL (with
 * its children), start again on the same port and data, graceful stop. Subclasses say how to
 * launch (`launchSpec`) and which signal stops them gracefully. The server runs with `dir`
 * as its working directory and keeps all its files there.
 */
export abstract class LocalServerProcess {
  private child: ChildProcess | undefined;

  protected constructor(
    /** The server's directory (data, log). */
    readonly dir: string,
    private readonly label: string,
    private readonly logFile: string,
  ) {}

  protected abstract launchSpec(): LaunchSpec;

  /** The signal that asks this server for a quick clean shutdown. */
  protected abstract readonly stopSignal: NodeJS.Signals;

  /** Called with the pid of every process started (to record it for orphan cleanup). */
  protected onSpawned(_pid: number): void {
    // nothing by default
  }

  /** The server's pid while it runs. */
  get pid(): number | undefined {
    return this.child?.pid;
  }

  get running(): boolean {
    return this.child !== undefined;
  }

  async start(): Promise<void> {
    if (this.child) throw new Error(`${this.label} is already running`);
    const spec = this.launchSpec();
    const child = spawn(spec.command, spec.args, {
      cwd: this.dir,
      stdio: 'ignore',
      ...spec.options,
    });
    spec.afterSpawn?.();
    this.child = child;
    if (child.pid !== undefined) this.onSpawned(child.pid);
    const exited = () =>
      child.exitCode !== null || child.signalCode !== null
        ? `${this.label} exited with ${String(child.exitCode ?? child.signalCode)}`
        : undefined;
    try {
      await waitUntil(spec.ready, {
        timeoutMs: spec.timeoutMs,
        ...(spec.intervalMs === undefined ? {} : { intervalMs: spec.intervalMs }),
        abortIf: exited,
        describe: () => `${this.label} did not come up; its log:\n${tailOf(this.logFile)}`,
      });
    } catch (error) {
      await this.kill();
      throw error;
    }
  }

  /** SIGKILL the server and its child processes: no shutdown, no final flush. */
  async kill(): Promise<void> {
    const child = this.child;
    if (!child) return;
    this.child = undefined;
    if (child.pid !== undefined) killTree(child.pid);
    await waitForExit(child);
  }

  async restart(): Promise<void> {
    await this.kill();
    await this.start();
  }

  /** Graceful stop (SIGKILL if it takes over 15 s). Keeps the data. */
  async shutdown(): Promise<void> {
    const child = this.child;
    this.child = undefined;
    if (!child) return;
    child.kill(this.stopSignal);
    await waitForExit(child, 15_000).catch(async () => {
      if (child.pid !== undefined) killTree(child.pid);
      await waitForExit(child);
    });
  }
}
