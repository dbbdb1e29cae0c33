import { sweepOrphans } from '../local/processes';
import type { StartedSharedInfra } from '../shared';
import { dropRunDatabases } from '../shared';

/** Stops what the global setup started; drops this run's databases from an external server. */
export default async function globalTeardown(): Promise<void> {
  const infra = (globalThis as { __framewiseInfra?: StartedSharedInfra }).__framewiseInfra;
  if (infra) {
    if (infra.sources.postgres === 'env') {
      await dropRunDatabases(infra.databaseUrl, infra.runId).catch((error: unknown) => {
        process.stderr.write(
          `[framewise test harness] could not drop test databases: ${String(error)}\n`,
        );
      });
    }
    await infra.stop();
  }
  // Servers that test workers started and never stopped (their workers have exited by now).
  sweepOrphans();
}
