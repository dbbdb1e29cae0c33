import type { Kysely } from 'kysely';
import { sql } from 'kysely';

// An hourly rollup of the class histograms, for analytics over windows across all cameras.
//
// Why: "top classes across all cameras over 24 h" expanded `class_counts` for every frame in
// the window (about 33,000 frames and 130,000 class rows at 1M frames over 30 days): 197 ms
// on an idle 2-core machine, and it grows with the number of cameras. The rollup holds one
// row per (hour, camera, class) present, so the same answer reads about 2,400 rows; the
// partial hours at the window's edges still come from the raw rows, so every answer stays
// exactly what the raw rows say for any window.
//
// Maintained by statement-level triggers with transition tables, in the same transaction as
// the rows they summarise: one aggregated upsert per write statement (a worker's batch), only
// for rows actually inserted (ON CONFLICT DO NOTHING leaves redelivered rows out of the
// transition table), and a matching subtraction for every delete, including the cascade of a
// video deletion. No write path can forget it, and there is no per-row trigger and no counter
// row that every writer of a camera updates once per frame.

export async function up(db: Kysely<unknown>): Promise<void> {
  // Hours are bins from a fixed UTC origin, so the rollup never depends on the session's
  // TimeZone. Inlinable SQL functions: the queries stay readable and index conditions stay
  // plain comparisons.
  await sql`
    CREATE FUNCTION fw_hour_floor(t timestamptz) RETURNS timestamptz
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN date_bin('1 hour', t, timestamptz '2000-01-01 00:00:00+00')
  `.execute(db);
  await sql`
    CREATE FUNCTION fw_hour_ceil(t timestamptz) RETURNS timestamptz
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN date_bin('1 hour', t + interval '1 hour' - interval '1 microsecond',
                    timestamptz '2000-01-01 00:00:00+00')
  `.execute(db);
  // Whether buckets of this size are made of whole hours, so rollup hours can be binned.
  await sql`
    CREATE FUNCTION fw_whole_hours(bucket interval) RETURNS boolean
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN extract(epoch FROM bucket) > 0 AND extract(epoch FROM bucket) % 3600 = 0
  `.execute(db);

  await sql`
    CREATE TABLE frame_class_hours (
      -- fw_hour_floor(frame_results.recorded_at); results without wall-clock time are left out.
      hour timestamptz NOT NULL,
      -- NULL for videos uploaded with recorded_at but no camera (they count across cameras).
      camera_id text,
      class text NOT NULL,
      detections integer NOT NULL CHECK (detections >= 0),
      -- Zero only inside a deleting statement, which then removes the row.
      frames integer NOT NULL CHECK (frames >= 0),
      CONSTRAINT frame_class_hours_key UNIQUE NULLS NOT DISTINCT (hour, camera_id, class)
    )
  `.execute(db);
  await sql`
    CREATE INDEX frame_class_hours_camera_idx ON frame_class_hours (camera_id, hour)
    WHERE camera_id IS NOT NULL
  `.execute(db);

  // One function for the three triggers; each trigger names only the transition tables of
  // its event (PL/pgSQL plans a statement on first use, so the other branches never see a
  // table their trigger lacks).
  await sql`
    CREATE FUNCTION fw_class_hours_apply() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
      IF TG_OP IN ('DELETE', 'UPDATE') THEN
        UPDATE frame_class_hours AS h
        SET detections = h.detections - g.detections, frames = h.frames - g.frames
        FROM (
          SELECT fw_hour_floor(o.recorded_at) AS hour, o.camera_id, c.key AS class,
                 sum(c.value::integer) AS detections, count(*) AS frames
          FROM old_rows AS o CROSS JOIN LATERAL jsonb_each_text(o.class_counts) AS c
          WHERE o.recorded_at IS NOT NULL
          GROUP BY 1, 2, 3
        ) AS g
        WHERE h.hour = g.hour AND h.camera_id IS NOT DISTINCT FROM g.camera_id AND h.class = g.class;
        DELETE FROM frame_class_hours AS h
        USING (SELECT DISTINCT fw_hour_floor(o.recorded_at) AS hour FROM old_rows AS o
               WHERE o.recorded_at IS NOT NULL) AS k
        WHERE h.hour = k.hour AND h.frames = 0;
      END IF;
      IF TG_OP IN ('INSERT', 'UPDATE') THEN
        INSERT INTO frame_class_hours AS h (hour, camera_id, class, detections, frames)
        SELECT fw_hour_floor(n.recorded_at), n.camera_id, c.key,
               sum(c.value::integer), count(*)
        FROM new_rows AS n CROSS JOIN LATERAL jsonb_each_text(n.class_counts) AS c
        WHERE n.recorded_at IS NOT NULL
        GROUP BY 1, 2, 3
        -- Every writer locks rollup rows in the same order, so concurrent batches of one
        -- camera wait for each other (briefly: this runs at the end of the statement) but
        -- never deadlock.
        ORDER BY 1, 2, 3
        ON CONFLICT (hour, camera_id, class) DO UPDATE
        SET detections = h.detections + excluded.detections, frames = h.frames + excluded.frames;
      END IF;
      RETURN NULL;
    END
    $$
  `.execute(db);
  await sql`
    CREATE TRIGGER frame_class_hours_insert AFTER INSERT ON frame_results
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION fw_class_hours_apply()
  `.execute(db);
  await sql`
    CREATE TRIGGER frame_class_hours_delete AFTER DELETE ON frame_results
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION fw_class_hours_apply()
  `.execute(db);
  // Results are never updated; if someone does (a backfill), the rollup follows.
  await sql`
    CREATE TRIGGER frame_class_hours_update AFTER UPDATE ON frame_results
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION fw_class_hours_apply()
  `.execute(db);
  await sql`
    CREATE FUNCTION fw_class_hours_truncate() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
      TRUNCATE frame_class_hours;
      RETURN NULL;
    END
    $$
  `.execute(db);
  await sql`
    CREATE TRIGGER frame_class_hours_truncate AFTER TRUNCATE ON frame_results
    FOR EACH STATEMENT EXECUTE FUNCTION fw_class_hours_truncate()
  `.execute(db);

  // Results written before this migration.
  await sql`
    INSERT INTO frame_class_hours (hour, camera_id, class, detections, frames)
    SELECT fw_hour_floor(r.recorded_at), r.camera_id, c.key, sum(c.value::integer), count(*)
    FROM frame_results AS r CROSS JOIN LATERAL jsonb_each_text(r.class_counts) AS c
    WHERE r.recorded_at IS NOT NULL
    GROUP BY 1, 2, 3
  `.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP TRIGGER IF EXISTS frame_class_hours_truncate ON frame_results`.execute(db);
  await sql`DROP TRIGGER IF EXISTS frame_class_hours_update ON frame_results`.execute(db);
  await sql`DROP TRIGGER IF EXISTS frame_class_hours_delete ON frame_results`.execute(db);
  await sql`DROP TRIGGER IF EXISTS frame_class_hours_insert ON frame_results`.execute(db);
  await sql`DROP FUNCTION IF EXISTS fw_class_hours_truncate()`.execute(db);
  await sql`DROP FUNCTION IF EXISTS fw_class_hours_apply()`.execute(db);
  await sql`DROP TABLE IF EXISTS frame_class_hours`.execute(db);
  await sql`DROP FUNCTION IF EXISTS fw_whole_hours(interval)`.execute(db);
  await sql`DROP FUNCTION IF EXISTS fw_hour_ceil(timestamptz)`.execute(db);
  await sql`DROP FUNCTION IF EXISTS fw_hour_floor(timestamptz)`.execute(db);
}
