import { bool, fragments, int } from '@framewise/config';

/**
 * The database variables of a service, to spread into its config schema:
 * DATABASE_URL, DATABASE_POOL_MAX (default 10) and DATABASE_MIGRATE_ON_START (default false:
 * production applies migrations with `npm run db:migrate` before rolling out; a single-host
 * or development setup turns it on and every replica migrates safely at start).
 */
export const databaseConfig = {
  ...fragments.database,
  DATABASE_POOL_MAX: int({ min: 1, max: 500, default: 10 }),
  DATABASE_MIGRATE_ON_START: bool({ default: false }),
};
