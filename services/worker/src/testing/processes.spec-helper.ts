// Runs the worker and the reaper as real processes (their main.ts), for crash tests.
import { startEntryProcess, type EntryProcess } from '@framewise/testing';

/** A service process: its output (for failure messages) and how to stop it. */
export type ServiceProcess = EntryProcess;

/**
 * Starts `services/<service>/src/main.ts` with only `env` (plus test defaults): nothing leaks
 * in from the test runner's environment. Pass PATH / HOME in `env` when needed.
 */
export function startService(
  service: 'worker' | 'reaper',
  env: Record<string, string>,
): ServiceProcess {
  return startEntryProcess({
    script: `services/${service}/src/main.ts`,
    tsconfig: `services/${service}/tsconfig.json`,
    env,
    keepChunks: 200,
  });
}
