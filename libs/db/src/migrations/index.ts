import type { Migration } from 'kysely';
import * as initialSchema from './0001-initial-schema';
import * as classHoursRollup from './0002-class-hours-rollup';
import * as apiKeys from './0003-api-keys';

/**
 * Every migration, in order, keyed by name. Imported statically (not read from a folder) so
 * they run the same from src under jest, from dist, and from a bundle. Names sort in
 * application order; add new ones at the end.
 */
export const MIGRATIONS: Readonly<Record<string, Migration>> = {
  '0001-initial-schema': initialSchema,
  '0002-class-hours-rollup': classHoursRollup,
  '0003-api-keys': apiKeys,
};
