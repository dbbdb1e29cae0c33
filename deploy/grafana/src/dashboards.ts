// The framewise dashboards, as code. `npm run deploy:generate` writes them to
// deploy/grafana/dashboards/*.json; a test fails when the committed JSON differs.
// Every series used here exists (grep `framewise_` in services/ and libs/): the system-wide
// ones (framewise_queue_*, framewise_redis_aof_enabled, framewise_video_frames) come from the
// reaper, which may run several replicas exporting the same values, hence `max`.
import { DashboardCursorSync, VariableRefresh } from '@grafana/schema';
import type { Dashboard } from '@grafana/schema';
import { layout, progressBars, stat, timeseries } from './panels';

const RATE = '[$__rate_interval]';

/** p50 / p95 / p99 queries of a prom-client histogram, summed over every process. */
function percentiles(histogram: string, by = ''): { expr: string; legend: string }[] {
  const group = by === '' ? 'le' : `le, ${by}`;
  const prefix = by === '' ? '' : `{{${by}}} `;
  return [0.5, 0.95, 0.99].map((q) => ({
    expr: `histogram_quantile(${q}, sum by (${group}) (rate(${histogram}_bucket${RATE})))`,
    legend: `${prefix}p${Math.round(q * 100)}`,
  }));
}

/** The operations overview: queues, throughput, latency, errors, reclaims, videos. */
export function overviewDashboard(): Dashboard {
  return {
    uid: 'framewise-overview',
    title: 'framewise',
    description:
      'Queues, throughput, latency, errors, reclaims and dead letters, and per-video progress of a framewise deployment.',
    tags: ['framewise'],
    editable: true,
    graphTooltip: DashboardCursorSync.Crosshair,
    refresh: '10s',
    schemaVersion: 41,
    time: { from: 'now-1h', to: 'now' },
    timepicker: {},
    timezone: 'browser',
    fiscalYearStartMonth: 0,
    links: [],
    annotations: { list: [] },
    templating: {
      list: [
        {
          name: 'datasource',
          label: 'Prometheus',
          type: 'datasource',
          query: 'prometheus',
          refresh: VariableRefresh.onDashboardLoad,
        },
      ],
    },
    panels: layout([
      {
        title: 'Queues',
        panels: [
          timeseries(
            'Queue depth',
            'Jobs per queue and state (pending, processing, delayed, dead), read from Redis by the reaper at each scrape.',
            'short',
            [
              {
                expr: 'max by (queue, state) (framewise_queue_jobs)',
                legend: '{{queue}} {{state}}',
              },
            ],
          ),
          timeseries(
            'Oldest pending job',
            'How long the job next in line has waited since its first enqueue. Alert: over 10 minutes for 5 minutes.',
            's',
            [
              {
                expr: 'max by (queue) (framewise_queue_oldest_pending_age_seconds)',
                legend: '{{queue}}',
              },
            ],
          ),
          timeseries(
            'Consumers',
            'Registered consumers per queue: alive (heartbeat present) and expired (waiting for the reaper to reclaim their jobs).',
            'short',
            [
              {
                expr: 'max by (queue, state) (framewise_queue_consumers)',
                legend: '{{queue}} {{state}}',
              },
            ],
            5,
          ),
          stat(
            'Redis AOF',
            'Whether the queue Redis has its append-only file on. Off means a Redis restart loses queued jobs.',
            'bool_on_off',
            { expr: 'max(framewise_redis_aof_enabled)', legend: 'AOF' },
            [
              ['red', null],
              ['green', 1],
            ],
            3,
          ),
        ],
      },
      {
        title: 'Throughput',
        panels: [
          timeseries('Uploads', 'Videos accepted by the API per second.', 'ops', [
            { expr: `sum(rate(framewise_uploads_total${RATE}))`, legend: 'uploads' },
          ]),
          timeseries(
            'Frames',
            'Frames extracted (extractor) and detected (workers) per second.',
            'ops',
            [
              { expr: `sum(rate(framewise_frames_extracted_total${RATE}))`, legend: 'extracted' },
              {
                expr: `sum(rate(framewise_worker_frames_detected_total${RATE}))`,
                legend: 'detected',
              },
              {
                expr: `sum(rate(framewise_worker_frames_dropped_total${RATE}))`,
                legend: 'dropped (video canceled or final)',
              },
            ],
          ),
          timeseries('Videos finished', 'Videos finalized by the reaper, by outcome.', 'ops', [
            {
              expr: `sum by (status) (rate(framewise_reaper_finalized_total${RATE}))`,
              legend: '{{status}}',
            },
          ]),
        ],
      },
      {
        title: 'Latency',
        panels: [
          timeseries(
            'Inference',
            'onnxruntime session.run per detector batch.',
            's',
            percentiles('framewise_worker_inference_seconds'),
          ),
          timeseries(
            'Preprocess',
            'Decode and letterbox per detector batch.',
            's',
            percentiles('framewise_worker_preprocess_seconds'),
          ),
          timeseries(
            'Result writes',
            'One results statement per batch, in Postgres.',
            's',
            percentiles('framewise_worker_db_write_seconds'),
          ),
          timeseries(
            'HTTP requests (p95)',
            'API latency by route template.',
            's',
            [
              {
                expr: `histogram_quantile(0.95, sum by (le, route) (rate(framewise_http_request_duration_seconds_bucket{service="api"}${RATE})))`,
                legend: '{{route}}',
              },
            ],
            12,
          ),
          timeseries(
            'Batch size',
            'Jobs per claimed batch (median and p95).',
            'short',
            percentiles('framewise_worker_batch_size').slice(0, 2),
            12,
          ),
        ],
      },
      {
        title: 'Errors',
        panels: [
          timeseries('HTTP 5xx', 'API responses with a 5xx status, by route.', 'reqps', [
            {
              expr: `sum by (route) (rate(framewise_http_requests_total{service="api", status_code=~"5.."}${RATE}))`,
              legend: '{{route}}',
            },
          ]),
          timeseries('Upload rejections', 'Uploads refused, by problem code.', 'ops', [
            {
              expr: `sum by (reason) (rate(framewise_upload_rejections_total${RATE}))`,
              legend: '{{reason}}',
            },
          ]),
          timeseries(
            'Worker errors',
            'Permanent frame failures and transient dependency outages (each retry), by kind.',
            'ops',
            [
              {
                expr: `sum by (kind) (rate(framewise_worker_errors_total${RATE}))`,
                legend: '{{kind}}',
              },
            ],
          ),
          timeseries(
            'Reaper loop failures',
            'Failed passes of the reclaim, reconcile and finalize loops.',
            'ops',
            [
              {
                expr: `sum by (loop) (rate(framewise_reaper_loop_errors_total${RATE}))`,
                legend: '{{loop}}',
              },
            ],
            12,
          ),
          timeseries(
            'Metric sources unreadable',
            'Scrapes in which the reaper could not read the queues, Redis INFO or Postgres.',
            'ops',
            [
              {
                expr: `sum by (source) (rate(framewise_system_scrape_errors_total${RATE}))`,
                legend: '{{source}}',
              },
            ],
            12,
          ),
        ],
      },
      {
        title: 'Reclaims and dead letters',
        panels: [
          timeseries(
            'Reclaimed jobs',
            'Jobs returned to pending from consumers whose heartbeat expired, delayed retries promoted, and manifest frames re-enqueued by the reconciler.',
            'ops',
            [
              { expr: `sum(rate(framewise_reaper_reclaimed_total${RATE}))`, legend: 'reclaimed' },
              { expr: `sum(rate(framewise_reaper_promoted_total${RATE}))`, legend: 'retries due' },
              {
                expr: `sum(rate(framewise_reaper_reconciled_total${RATE}))`,
                legend: 're-enqueued by reconcile',
              },
            ],
          ),
          timeseries(
            'Dead letters',
            'Jobs dead-lettered, by reason, and the dead-letter list length.',
            'short',
            [
              {
                expr: `sum by (reason) (increase(framewise_reaper_dead_lettered_total${RATE}))`,
                legend: 'dead-lettered ({{reason}})',
              },
              {
                expr: 'max by (queue) (framewise_queue_jobs{state="dead"})',
                legend: '{{queue}} dead list',
              },
            ],
          ),
          timeseries(
            'Consumer events',
            'Queue events seen by workers: acks that found their job reclaimed (lost), retries, dead letters, recovered lists.',
            'ops',
            [
              {
                expr: `sum by (type) (rate(framewise_worker_queue_events_total{type!~"claimed|acked"}${RATE}))`,
                legend: '{{type}}',
              },
            ],
          ),
        ],
      },
      {
        title: 'Videos',
        height: 10,
        panels: [
          progressBars(
            'Progress of open videos',
            'Frames with a result or a permanent failure over the frames expected, per video being extracted or detected (the newest 50).',
            {
              expr:
                'max by (video_id) (framewise_video_frames{state="done"}) + max by (video_id) (framewise_video_frames{state="failed"})' +
                '\n/ on (video_id) max by (video_id) (framewise_video_frames{state="expected"})',
              legend: '{{video_id}}',
            },
          ),
        ],
      },
    ]),
  };
}

/** Every dashboard, by file name under deploy/grafana/dashboards/. */
export function dashboards(): Record<string, Dashboard> {
  return { 'framewise-overview.json': overviewDashboard() };
}
