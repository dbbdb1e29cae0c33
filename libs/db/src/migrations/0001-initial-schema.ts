import type { Kysely } from 'kysely';
import { sql } from 'kysely';

// The initial schema. Raw SQL rather than kysely's schema builder: generated columns, CHECKs,
// partial/BRIN indexes and SQL functions read more plainly as the SQL a reviewer will see in
// `\d`. Migrations run in one transaction under kysely's advisory lock (see migrate.ts).
//
// Never edit a migration that has shipped; add a new one.

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE TABLE videos (
      -- uuid v7, made by the application: time-ordered, so the primary key doubles as the
      -- creation order for cursor pagination, and unguessable enough for URLs.
      id uuid PRIMARY KEY,
      status text NOT NULL DEFAULT 'uploaded' CONSTRAINT videos_status_check CHECK (status IN (
        'uploaded', 'extracting', 'detecting',
        'completed', 'completed_with_errors', 'failed', 'canceled')),
      original_filename text NOT NULL,
      content_type text NOT NULL,
      size_bytes bigint NOT NULL CHECK (size_bytes >= 0),
      storage_key text NOT NULL,
      -- ffprobe metadata, filled by the extractor.
      duration_s double precision,
      fps double precision,
      width integer,
      height integer,
      codec text,
      -- Sampling: a rate or every Nth frame (or neither: every frame), never both.
      sample_fps double precision CHECK (sample_fps > 0),
      sample_every_n integer CHECK (sample_every_n >= 1),
      CONSTRAINT videos_sampling_check CHECK (sample_fps IS NULL OR sample_every_n IS NULL),
      camera_id text,
      recorded_at timestamptz,
      model_name text NOT NULL,
      model_version text NOT NULL,
      -- The key results are stored under; one expression, so no caller spells it differently.
      model text GENERATED ALWAYS AS (model_name || '@' || model_version) STORED,
      expected_frames integer CHECK (expected_frames >= 0),
      extracted_frames integer CHECK (extracted_frames >= 0),
      error_code text,
      error_message text,
      uploaded_at timestamptz NOT NULL DEFAULT now(),
      extracting_at timestamptz,
      detecting_at timestamptz,
      completed_at timestamptz,
      failed_at timestamptz,
      canceled_at timestamptz,
      updated_at timestamptz NOT NULL DEFAULT now()
    )
  `.execute(db);
  await sql`CREATE INDEX videos_camera_idx ON videos (camera_id, id) WHERE camera_id IS NOT NULL`.execute(
    db,
  );
  // The reaper polls unfinished videos; a partial index keeps that cheap however many
  // finished videos accumulate.
  await sql`
    CREATE INDEX videos_unfinished_idx ON videos (status, id)
    WHERE status IN ('uploaded', 'extracting', 'detecting')
  `.execute(db);

  await sql`
    CREATE TABLE frames (
      video_id uuid NOT NULL REFERENCES videos (id) ON DELETE CASCADE,
      frame_index integer NOT NULL CHECK (frame_index >= 0),
      time_ms integer NOT NULL CHECK (time_ms >= 0),
      -- videos.recorded_at + time_ms, when the upload gave recorded_at.
      recorded_at timestamptz,
      storage_key text NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (video_id, frame_index)
    )
  `.execute(db);

  // The per-frame class histogram as SQL: the definition `frame_results.class_counts` must
  // match, for backfills and for checking stored rows. Writers compute it themselves (see
  // classCounts in results.repository.ts): measured, this function as a generated column
  // cost about 26 µs per row of the database's CPU, the one resource workers cannot scale.
  await sql`
    CREATE FUNCTION fw_class_counts(detections jsonb) RETURNS jsonb
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN (
      SELECT coalesce(jsonb_object_agg(class, n), '{}'::jsonb)
      FROM (
        SELECT d ->> 'class' AS class, count(*) AS n
        FROM jsonb_array_elements(detections) AS d
        WHERE d ->> 'class' IS NOT NULL
        GROUP BY 1
      ) AS per_class
    )
  `.execute(db);

  await sql`
    CREATE TABLE frame_results (
      video_id uuid NOT NULL,
      frame_index integer NOT NULL,
      model text NOT NULL,
      detections jsonb NOT NULL CONSTRAINT frame_results_detections_check
        CHECK (jsonb_typeof(detections) = 'array'),
      inference_ms real,
      worker_id text,
      created_at timestamptz NOT NULL DEFAULT now(),
      -- Derived, copied from the frame and its video when the result is written: analytics
      -- filter by camera and wall-clock time without joining three tables.
      camera_id text,
      recorded_at timestamptz,
      time_ms integer NOT NULL,
      -- { "<class>": <detections of that class> }, = fw_class_counts(detections).
      class_counts jsonb NOT NULL,
      -- The idempotency key: a redelivered job finds its row and writes nothing.
      PRIMARY KEY (video_id, frame_index, model),
      FOREIGN KEY (video_id, frame_index) REFERENCES frames (video_id, frame_index) ON DELETE CASCADE
    )
  `.execute(db);
  // "Cars at camera X in the last hour" and every per-camera query: one range scan.
  await sql`
    CREATE INDEX frame_results_camera_time_idx ON frame_results (camera_id, recorded_at)
    WHERE camera_id IS NOT NULL
  `.execute(db);
  // Time windows across all cameras. Results arrive roughly in recording order (cameras
  // upload as they record), which is what BRIN needs; it costs almost nothing to maintain.
  await sql`CREATE INDEX frame_results_recorded_brin ON frame_results USING brin (recorded_at)`.execute(
    db,
  );

  await sql`
    CREATE TABLE frame_failures (
      video_id uuid NOT NULL,
      frame_index integer NOT NULL,
      model text NOT NULL,
      error_code text NOT NULL,
      error_message text NOT NULL,
      worker_id text,
      attempts integer CHECK (attempts >= 0),
      failed_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (video_id, frame_index, model),
      FOREIGN KEY (video_id, frame_index) REFERENCES frames (video_id, frame_index) ON DELETE CASCADE
    )
  `.execute(db);

  // One row per (frame, class present): the shape every per-class analytics query groups by.
  // A plain view, so predicates on camera_id / recorded_at / video_id reach the base table's
  // indexes before the histogram is expanded.
  await sql`
    CREATE VIEW frame_class_counts AS
    SELECT r.video_id, r.frame_index, r.model, r.camera_id, r.recorded_at, r.time_ms,
           c.key AS class, c.value::integer AS count
    FROM frame_results AS r
    CROSS JOIN LATERAL jsonb_each_text(r.class_counts) AS c
  `.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP VIEW IF EXISTS frame_class_counts`.execute(db);
  await sql`DROP TABLE IF EXISTS frame_failures, frame_results, frames, videos`.execute(db);
  await sql`DROP FUNCTION IF EXISTS fw_class_counts(jsonb)`.execute(db);
}
