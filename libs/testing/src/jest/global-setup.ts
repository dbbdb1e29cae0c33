import { sweepOrphans } from '../local/processes';
import type { StartedSharedInfra } from '../shared';
import { publishSharedInfra, startSharedInfra } from '../shared';

/**
 * Jest global setup of the integration tier: clean up after any earlier run that died, then
 * start (or adopt from the environment) the run's shared Redis and Postgres, once.
 */
export default async function globalSetup(): Promise<void> {
  const swept = sweepOrphans();
  const infra = await startSharedInfra();
  publishSharedInfra(infra);
  (globalThis as { __framewiseInfra?: StartedSharedInfra }).__framewiseInfra = infra;
  const note = swept > 0 ? `; cleaned ${swept} leftover server(s) of an earlier run` : '';
  process.stderr.write(
    `\n[framewise test harness] shared Redis (${infra.sources.redis}) + Postgres (${infra.sources.postgres}) ready in ${infra.startupMs} ms${note}\n`,
  );
}
