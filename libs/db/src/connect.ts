import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import type { Database } from './schema';

/** How to reach Postgres; `main.ts` builds it from DATABASE_URL and friends. */
export interface DatabaseOptions {
  readonly url: string;
  /** Pool size (default 10). Workers need about one per concurrent batch. */
  readonly maxConnections?: number;
  /** Shown in pg_stat_activity, so an operator sees which process holds a connection. */
  readonly applicationName?: string;
  /** Milliseconds a statement may run before Postgres cancels it (default: no limit). */
  readonly statementTimeoutMs?: number;
}

/**
 * A `Kysely<Database>` over a pg pool. The caller owns it and calls `destroy()` at shutdown
 * (that ends the pool).
 */
export function createDatabase(options: DatabaseOptions): Kysely<Database> {
  const pool = new pg.Pool({
    connectionString: options.url,
    max: options.maxConnections ?? 10,
    ...(options.applicationName === undefined ? {} : { application_name: options.applicationName }),
    ...(options.statementTimeoutMs === undefined
      ? {}
      : { statement_timeout: options.statementTimeoutMs }),
  });
  // An idle client losing its connection (server restart) emits 'error' on the pool; without
  // a listener that would crash the process. The next query gets a fresh connection.
  pool.on('error', () => undefined);
  // A client checked out of the pool but between queries when the server goes away emits
  // 'error' on itself, where the pool's listener does not reach: without this, a Postgres
  // restart can crash a worker. The broken client is not queryable; pg-pool drops it on
  // release and the caller's next query (retried) gets a fresh connection.
  pool.on('connect', (client) => {
    client.on('error', () => undefined);
  });
  return new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
}
