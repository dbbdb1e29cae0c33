import path from 'node:path';
import type { ServiceProcess, Stack } from '@framewise/stack';

export interface SuperviseHooks {
  readonly onExit: (name: string, code: number | null, logFile: string) => void;
  readonly onRestartFailed: (name: string, error: Error) => void;
  /** Wait before a restart (default 2 s), so a process that cannot start does not spin. */
  readonly delayMs?: number;
}

/**
 * Restarts any service process of `stack` that exits while the stack runs (same name, ports
 * and consumer id, so it recovers its own jobs). `stop()` ends the watch before `stack.stop()`.
 */
export function supervise(stack: Stack, hooks: SuperviseHooks): { stop: () => void } {
  let stopped = false;
  const timers = new Set<NodeJS.Timeout>();
  const watch = (service: ServiceProcess) => {
    void service.exited.then((code) => {
      if (stopped) return;
      hooks.onExit(service.name, code, path.join(stack.dataDir, 'logs', `${service.name}.log`));
      const timer = setTimeout(() => {
        timers.delete(timer);
        if (stopped) return;
        service.restart().then(watch, (error: unknown) => {
          hooks.onRestartFailed(service.name, error as Error);
          if (!stopped) watch(service);
        });
      }, hooks.delayMs ?? 2000);
      timers.add(timer);
    });
  };
  for (const service of stack.processes()) watch(service);
  return {
    stop: () => {
      stopped = true;
      for (const timer of timers) clearTimeout(timer);
    },
  };
}
