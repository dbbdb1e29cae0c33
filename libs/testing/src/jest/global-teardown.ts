import './workspace-sources';
import { sweepOrphans } from '../local/processes';
import { deleteRunBuckets } from '../s3';
import type { StartedSharedInfra } from '../shared';
import { dropRunDatabases } from '../shared';

/**
 * Stops what the global setup started; on servers it did not start (taken from the
 * environment), drops this run's databases and deletes this run's buckets.
 */
export default async function globalTeardown(): Promise<void> {
  const infra = (globalThis as { __framewiseInfra?: StartedSharedInfra }).__framewiseInfra;
  if (infra) {
    const warn = (what: string) => (error: unknown) => {
      process.stderr.write(`[framewise test harness] could not ${what}: ${String(error)}\n`);
    };
    if (infra.sources.postgres === 'env') {
      await dropRunDatabases(infra.databaseUrl, infra.runId).catch(warn('drop test databases'));
    }
    if (infra.s3?.source === 'env' && infra.s3.bucket === undefined) {
      await deleteRunBuckets(infra.s3, infra.runId).catch(warn('delete test buckets'));
    }
    await infra.stop();
  }
  // Servers that test workers started and never stopped (their workers have exited by now).
  sweepOrphans();
}
