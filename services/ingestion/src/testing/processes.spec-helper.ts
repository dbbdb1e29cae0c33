// Runs an entry of the ingestion service (or the reaper beside it) as a real process, for
// crash and upgrade tests.
import { startEntryProcess, type EntryProcess } from '@framewise/testing';

/** A running entry: its output (for failure messages and log checks) and how to stop it. */
export type ServiceProcess = EntryProcess;

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
  return startEntryProcess({ script, tsconfig, env, args });
}
