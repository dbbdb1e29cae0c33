// Carries out a fault schedule against a running system: SIGKILLs processes and starts new
// ones (as a supervisor would), crashes Redis and Postgres, empties Redis, and cuts a worker's
// Redis connection while it holds a batch.
import { setTimeout as sleep } from 'node:timers/promises';
import type { Redis } from 'ioredis';
import { frameQueue } from '@framewise/contracts';
import { parseClientList, workerConnections } from './client-list';
import type { FaultKind, PlannedFault, ProcessRole } from './schedule';
import { roleOf } from './schedule';
import type { ChaosProcess, ChaosSystem } from './system';

/** A fault as it happened. */
export interface InjectedFault {
  readonly kind: FaultKind;
  /** Milliseconds after the window opened, when the fault hit. */
  readonly atMs: number;
  /** False when it could not be injected (no candidate); see `note`. */
  readonly injected: boolean;
  readonly victim?: string;
  readonly note?: string;
}

export interface InjectorOptions {
  readonly keyPrefix: string;
  /** One progress line (the runner writes it to stderr). */
  readonly log: (line: string) => void;
  /** How long to look for a worker that holds jobs before cutting any worker's connection. */
  readonly clientKillSearchMs?: number;
  /** Attempts to bring a killed process back (a start fails while Postgres or Redis is down). */
  readonly respawnAttempts?: number;
}

/**
 * Runs planned faults at their times. Process kills do not wait for the replacement: it is
 * started in the background after the fault's `downMs`, retried until it comes up, so the
 * next faults keep their schedule. {@link settle} waits for every replacement.
 */
export class FaultInjector {
  private readonly killedPids = new Set<number>();
  private readonly respawns = new Set<Promise<void>>();
  private readonly respawnFailures: string[] = [];
  private readonly frames;

  constructor(
    private readonly system: ChaosSystem,
    private readonly admin: Redis,
    private readonly options: InjectorOptions,
  ) {
    this.frames = frameQueue({ keyPrefix: options.keyPrefix });
  }

  /**
   * Injects `faults` (sorted by time) from `startedAt` (a `performance.now()` reading) on.
   * Faults that hit Redis or Postgres wait for `infraGate` first (the runner's uploads).
   */
  async run(
    faults: readonly PlannedFault[],
    startedAt: number,
    infraGate: Promise<unknown> = Promise.resolve(),
  ): Promise<InjectedFault[]> {
    const done: InjectedFault[] = [];
    for (const fault of faults) {
      const wait = startedAt + fault.atMs - performance.now();
      if (wait > 0) await sleep(wait);
      if (roleOf(fault.kind) === undefined) await infraGate;
      const atMs = Math.round(performance.now() - startedAt);
      let result: Omit<InjectedFault, 'kind' | 'atMs'>;
      try {
        result = await this.inject(fault);
      } catch (error) {
        result = { injected: false, note: `failed: ${String(error)}` };
      }
      const entry: InjectedFault = { kind: fault.kind, atMs, ...result };
      done.push(entry);
      this.options.log(
        `fault ${fault.kind} at ${(atMs / 1000).toFixed(1)}s: ` +
          (entry.injected ? `hit ${entry.victim ?? ''}` : 'skipped') +
          (entry.note === undefined ? '' : ` (${entry.note})`),
      );
    }
    return done;
  }

  /** Waits for every replacement process; returns the roles that never came back. */
  async settle(): Promise<string[]> {
    while (this.respawns.size > 0) await Promise.all([...this.respawns]);
    return [...this.respawnFailures];
  }

  private async inject(fault: PlannedFault): Promise<Omit<InjectedFault, 'kind' | 'atMs'>> {
    const role = roleOf(fault.kind);
    if (role !== undefined) return this.killProcess(role, fault);
    switch (fault.kind) {
      case 'redis_kill': {
        await this.system.redis.kill();
        await sleep(fault.downMs);
        await this.system.redis.start();
        return { injected: true, victim: 'redis', note: `down ${fault.downMs} ms` };
      }
      case 'redis_flushall':
        await this.admin.flushall();
        return { injected: true, victim: 'redis' };
      case 'postgres_restart':
        await this.system.postgres.restart();
        return { injected: true, victim: 'postgres' };
      case 'redis_client_kill':
        return this.killWorkerConnection(fault.pick);
      case 'worker_kill':
      case 'extractor_kill':
      case 'reaper_kill':
        throw new Error(`unreachable: ${fault.kind} is a process kill`);
    }
  }

  private async killProcess(
    role: ProcessRole,
    fault: PlannedFault,
  ): Promise<Omit<InjectedFault, 'kind' | 'atMs'>> {
    const alive = this.system.processes(role).filter((p) => !this.killedPids.has(p.pid));
    const victim = alive[Math.floor(fault.pick * alive.length)];
    if (victim === undefined) {
      return { injected: false, note: `no ${role} running (all being restarted)` };
    }
    this.killedPids.add(victim.pid);
    await victim.kill();
    const respawn = this.respawn(victim, role, fault).finally(() => {
      this.respawns.delete(respawn);
    });
    this.respawns.add(respawn);
    return {
      injected: true,
      victim: `${victim.name} (pid ${victim.pid})`,
      note: fault.newIdentity ? 'replaced by a new consumer' : 'restarted under its own id',
    };
  }

  /** Brings a killed process back (itself, or a new one), retrying while a start fails. */
  private async respawn(
    victim: ChaosProcess,
    role: ProcessRole,
    fault: PlannedFault,
  ): Promise<void> {
    await sleep(fault.downMs);
    const attempts = this.options.respawnAttempts ?? 30;
    for (let attempt = 1; ; attempt++) {
      try {
        const started: ChaosProcess = fault.newIdentity
          ? await this.system.spawn(role)
          : await victim.restart();
        this.options.log(
          `started ${started.name} (pid ${started.pid}) after ${victim.name}'s kill`,
        );
        return;
      } catch (error) {
        if (attempt >= attempts) {
          this.respawnFailures.push(`${role}: ${String(error)}`);
          this.options.log(`could not start a ${role} after ${attempt} attempts: ${String(error)}`);
          return;
        }
        await sleep(1000);
      }
    }
  }

  /**
   * CLIENT KILL of every connection of one worker, preferring a worker whose processing list
   * holds jobs (it is mid-batch: claimed, not yet acked).
   */
  private async killWorkerConnection(pick: number): Promise<Omit<InjectedFault, 'kind' | 'atMs'>> {
    const deadline = performance.now() + (this.options.clientKillSearchMs ?? 10_000);
    for (;;) {
      const byConsumer = workerConnections(parseClientList(await this.clientList()));
      const consumers = [...byConsumer.keys()].sort();
      const busy: string[] = [];
      for (const id of consumers) {
        if ((await this.admin.llen(this.frames.keys.processing(id))) > 0) busy.push(id);
      }
      const late = performance.now() > deadline;
      // Past the deadline with no worker holding jobs, any worker's connections are cut.
      const candidates = busy.length > 0 ? busy : late ? consumers : [];
      const chosen = candidates[Math.floor(pick * candidates.length)];
      if (chosen !== undefined) {
        let killed = 0;
        for (const c of byConsumer.get(chosen) ?? []) {
          killed += Number(await this.admin.call('CLIENT', 'KILL', 'ID', c.id));
        }
        return {
          injected: killed > 0,
          victim: `worker ${chosen}: ${killed} connection(s)`,
          note: busy.length > 0 ? 'mid-batch' : 'no worker held jobs: an idle worker cut',
        };
      }
      if (late) return { injected: false, note: 'no named worker connection in CLIENT LIST' };
      await sleep(50);
    }
  }

  private async clientList(): Promise<string> {
    const reply = await this.admin.call('CLIENT', 'LIST', 'TYPE', 'normal');
    return typeof reply === 'string' ? reply : String(reply);
  }
}
