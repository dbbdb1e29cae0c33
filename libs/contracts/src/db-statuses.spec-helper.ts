// The database's list of statuses, read from @framewise/db's lifecycle so the contract test
// fails when the two drift apart. (contracts does not depend on db at run time.)
import { FINAL_STATUSES, VIDEO_TRANSITIONS } from '@framewise/db';

export const VIDEO_STATUSES = Object.keys(VIDEO_TRANSITIONS);
export const DB_FINAL_STATUSES: readonly string[] = FINAL_STATUSES;
