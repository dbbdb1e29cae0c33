import './workspace-sources';
import { sweepOrphans } from '../local/processes';
import type { StartedSharedInfra } from '../shared';
import { needsS3, publishSharedInfra, startSharedInfra } from '../shared';

/**
 * Jest global setup of the integration tier: clean up after any earlier run that died, then
 * start (or adopt from the environment) the run's shared Redis and Postgres, once; and the
 * shared S3 server when a selected test file asks for it (`@framewise-needs s3`), in parallel.
 */
export default async function globalSetup(): Promise<void> {
  const swept = sweepOrphans();
  const infra = await startSharedInfra(process.env, { s3: needsS3() });
  publishSharedInfra(infra);
  (globalThis as { __framewiseInfra?: StartedSharedInfra }).__framewiseInfra = infra;
  const note = swept > 0 ? `; cleaned ${swept} leftover server(s) of an earlier run` : '';
  const s3 =
    infra.s3 === undefined
      ? ''
      : ` + S3 (${infra.s3.source}${infra.s3StartupMs === undefined ? '' : `, ${infra.s3StartupMs} ms`})`;
  process.stderr.write(
    `\n[framewise test harness] shared Redis (${infra.sources.redis}) + Postgres (${infra.sources.postgres})${s3} ready in ${infra.startupMs} ms${note}\n`,
  );
}
