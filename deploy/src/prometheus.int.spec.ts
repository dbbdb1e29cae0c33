// The real Prometheus (Debian's package) scraping a real framewise system: API, extractor, two
// workers and a reaper as separate processes (@framewise/stack) on private Redis and Postgres,
// scraped every second with the repository's alert rules loaded. Asserts through the HTTP API
// (PromQL) that every target is up, that each service's key series exist, that every series
// the alerts and dashboards name is really exported, and that every rule and dashboard query
// evaluates without an error.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { writeRedSquareModel } from '@framewise/detector';
import { freePort, startStack, waitUntil, which, type Stack } from '@framewise/stack';
import { dashboards } from '../grafana/src/dashboards';
import { ROOT, itWith, parseAll } from './tools.spec-helper';

jest.setTimeout(300_000);

const withPrometheus = itWith('prometheus', 'apt-get install prometheus', process.env);

let dir: string;
let stack: Stack | undefined;
let prometheus: ChildProcess | undefined;
let prometheusUrl: string;
const prometheusLog: string[] = [];

interface Sample {
  metric: Record<string, string>;
  value: [number, string];
}

/** An instant PromQL query; throws on an error answer. */
async function query(expr: string): Promise<Sample[]> {
  const response = await fetch(`${prometheusUrl}/api/v1/query?query=${encodeURIComponent(expr)}`);
  const body = (await response.json()) as {
    status: string;
    error?: string;
    data?: { resultType: string; result: Sample[] };
  };
  if (body.status !== 'success') throw new Error(`${expr}: ${body.error ?? response.status}`);
  return body.data?.resultType === 'vector' ? body.data.result : [];
}

/** host:port of a service URL. */
function target(url: string): string {
  return new URL(url).host;
}

/** The metric names an expression refers to. */
function metricNames(expr: string): string[] {
  return [...expr.matchAll(/\bframewise_[a-z0-9_]+/g)].map((m) => m[0]);
}

/** Every PromQL expression of the alert rules and of the dashboards. */
function expressions(): { source: string; expr: string }[] {
  const out: { source: string; expr: string }[] = [];
  const rulesDir = path.join(ROOT, 'deploy/prometheus/rules');
  for (const file of fs.readdirSync(rulesDir).filter((f) => f.endsWith('.yml'))) {
    const [doc] = parseAll(fs.readFileSync(path.join(rulesDir, file), 'utf8')) as unknown as {
      groups: { rules: { alert?: string; record?: string; expr: string }[] }[];
    }[];
    for (const rule of doc!.groups.flatMap((g) => g.rules)) {
      out.push({ source: `rule ${rule.alert ?? rule.record ?? '?'}`, expr: rule.expr });
    }
  }
  for (const [file, dashboard] of Object.entries(dashboards())) {
    for (const panel of dashboard.panels ?? []) {
      if (!('targets' in panel)) continue;
      for (const t of panel.targets ?? []) {
        const expr = (t as { expr?: string }).expr;
        if (expr !== undefined) out.push({ source: `${file} "${panel.title ?? '?'}"`, expr });
      }
    }
  }
  return out;
}

beforeAll(async () => {
  if (which('prometheus', process.env) === undefined) return;
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'framewise-prometheus-'));
  // As root, Postgres runs as the postgres user and must be able to enter the directory.
  fs.chmodSync(dir, 0o755);
  const modelPath = await writeRedSquareModel(path.join(dir, 'red-square.onnx'));
  stack = await startStack({
    dataDir: path.join(dir, 'stack'),
    modelPath,
    workers: 2,
    hostEnv: process.env,
    env: { LOG_LEVEL: 'warn' },
    postgresSettings: { fsync: 'off' },
  });
  const s = stack;
  const targets = (role: 'extractor' | 'worker' | 'reaper') =>
    s.processes(role).map((p) => target(p.opsUrl));
  // The compose scrape config, with the stack's addresses and a 1 s interval.
  const config = {
    global: { scrape_interval: '1s', scrape_timeout: '900ms', evaluation_interval: '1s' },
    rule_files: [path.join(ROOT, 'deploy/prometheus/rules/*.yml')],
    scrape_configs: [
      { job_name: 'api', static_configs: [{ targets: [target(s.apiUrl)] }] },
      { job_name: 'extractor', static_configs: [{ targets: targets('extractor') }] },
      { job_name: 'worker', static_configs: [{ targets: targets('worker') }] },
      { job_name: 'reaper', static_configs: [{ targets: targets('reaper') }] },
    ],
  };
  const configFile = path.join(dir, 'prometheus.yml');
  fs.writeFileSync(configFile, JSON.stringify(config));
  const port = await freePort();
  prometheusUrl = `http://127.0.0.1:${port}`;
  prometheus = spawn(
    'prometheus',
    [
      `--config.file=${configFile}`,
      `--storage.tsdb.path=${path.join(dir, 'tsdb')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--log.level=warn',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const keep = (chunk: Buffer) => prometheusLog.push(chunk.toString());
  prometheus.stdout?.on('data', keep);
  prometheus.stderr?.on('data', keep);
  await waitUntil(
    async () => {
      try {
        return (await fetch(`${prometheusUrl}/-/ready`)).ok;
      } catch {
        return false;
      }
    },
    { timeoutMs: 30_000, describe: () => `prometheus ready (${prometheusLog.join('')})` },
  );
});

afterAll(async () => {
  if (prometheus?.exitCode === null) {
    const exited = new Promise((resolve) => prometheus?.once('exit', resolve));
    prometheus.kill('SIGTERM');
    await exited;
  }
  await stack?.stop();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

withPrometheus('scrapes every process: `up` is 1 for each target', async () => {
  const s = stack!;
  const expected = [
    { job: 'api', instance: target(s.apiUrl) },
    ...(['extractor', 'worker', 'reaper'] as const).flatMap((job) =>
      s.processes(job).map((p) => ({ job, instance: target(p.opsUrl) })),
    ),
  ];
  expect(expected.filter((t) => t.job === 'worker')).toHaveLength(2);
  const ups = async () =>
    (await query('up')).map((r) => ({
      job: r.metric.job,
      instance: r.metric.instance,
      up: r.value[1],
    }));
  await waitUntil(
    async () => (await ups()).filter((u) => u.up === '1').length === expected.length,
    {
      timeoutMs: 30_000,
      describe: () => 'every target up',
    },
  );
  expect(
    (await ups()).sort((a, b) => `${a.job}${a.instance}`.localeCompare(`${b.job}${b.instance}`)),
  ).toEqual(
    expected
      .map((t) => ({ ...t, up: '1' }))
      .sort((a, b) => `${a.job}${a.instance}`.localeCompare(`${b.job}${b.instance}`)),
  );
});

withPrometheus(
  'holds the key series of every service, with the values the system has',
  async () => {
    const key: Record<string, string[]> = {
      api: ['framewise_uploads_total', 'framewise_http_requests_total'],
      extractor: ['framewise_frames_extracted_total', 'framewise_queue_pending_jobs'],
      worker: [
        'framewise_worker_frames_detected_total',
        'framewise_worker_inference_seconds_bucket',
        'framewise_worker_in_flight_jobs',
        'framewise_worker_provider_info',
      ],
      reaper: [
        'framewise_reaper_reclaimed_total',
        'framewise_queue_jobs',
        'framewise_queue_oldest_pending_age_seconds',
        'framewise_queue_consumers',
        'framewise_redis_aof_enabled',
      ],
    };
    for (const [job, names] of Object.entries(key)) {
      for (const name of names) {
        await waitUntil(async () => (await query(`${name}{job="${job}"}`)).length > 0, {
          timeoutMs: 20_000,
          describe: () => `${name} from ${job}`,
        });
      }
    }
    // Each worker reports its own series.
    expect(await query('count(framewise_worker_in_flight_jobs)')).toEqual([
      expect.objectContaining({ value: [expect.any(Number), '2'] }),
    ]);
    // The reaper sees both workers alive, and the stack's Redis has AOF on.
    await waitUntil(
      async () =>
        (await query('framewise_queue_consumers{queue="frames", state="alive"} == 2')).length === 1,
      { timeoutMs: 20_000, describe: () => 'two live frame consumers' },
    );
    expect((await query('framewise_redis_aof_enabled'))[0]?.value[1]).toBe('1');
  },
);

withPrometheus('sees a processed video in the throughput series', async () => {
  const s = stack!;
  const video = path.join(dir, 'square.mp4');
  // 2 s at 10 fps, a red square on gray; sampled at 5 fps: 10 frames.
  const ffmpeg = spawnSync(
    'ffmpeg',
    // prettier-ignore
    ['-hide_banner', '-v', 'error', '-y', '-f', 'lavfi',
     '-i', 'color=c=gray:s=320x240:r=10:d=2,drawbox=x=100:y=60:w=80:h=80:color=red@1:t=fill',
     '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', video],
    { encoding: 'utf8' },
  );
  expect(ffmpeg.stderr).toBe('');
  const form = new FormData();
  form.set('file', new Blob([fs.readFileSync(video)], { type: 'video/mp4' }), 'square.mp4');
  form.set('sampling', 'fps:5');
  const upload = await fetch(`${s.apiUrl}/v1/videos`, {
    method: 'POST',
    body: form,
    headers: { authorization: `Bearer ${s.apiKey}` },
  });
  expect(upload.status).toBe(202);
  // The counters, summed over processes, reach the video's numbers once it is finished.
  const expected: Record<string, string> = {
    'sum(framewise_uploads_total)': '1',
    'sum(framewise_frames_extracted_total)': '10',
    'sum(framewise_worker_frames_detected_total)': '10',
    'sum(framewise_reaper_finalized_total{status="completed"})': '1',
    'sum(framewise_http_requests_total{route="/v1/videos", method="POST", status_code="202"})': '1',
  };
  const values = async () =>
    Object.fromEntries(
      await Promise.all(
        Object.keys(expected).map(
          async (expr) => [expr, (await query(expr))[0]?.value[1]] as const,
        ),
      ),
    );
  await waitUntil(async () => JSON.stringify(await values()) === JSON.stringify(expected), {
    timeoutMs: 120_000,
    describe: () => 'the video counted in every throughput series',
  });
  expect(await values()).toEqual(expected);
});

withPrometheus(
  'knows every series the alert rules and dashboards use, and evaluates all their queries',
  async () => {
    const names = new Set(
      (
        (await (await fetch(`${prometheusUrl}/api/v1/label/__name__/values`)).json()) as {
          data: string[];
        }
      ).data,
    );
    // Series with labels appear only once something happened (an error kind, a rejection
    // reason): their families are checked through the targets' metadata instead, which lists
    // every metric a target declares (# HELP / # TYPE), sampled or not.
    const metadata = (await (await fetch(`${prometheusUrl}/api/v1/metadata`)).json()) as {
      data: Record<string, unknown>;
    };
    const families = new Set(Object.keys(metadata.data));
    const family = (name: string) => name.replace(/_(bucket|sum|count|total)$/, '');
    const unknown = expressions()
      .flatMap(({ source, expr }) => metricNames(expr).map((name) => ({ source, name })))
      .filter(({ name }) => !names.has(name) && !families.has(name) && !families.has(family(name)));
    expect(unknown).toEqual([]);

    for (const { source, expr } of expressions()) {
      // Grafana's $__rate_interval: 4 scrape intervals is its floor.
      const promql = expr.replaceAll('$__rate_interval', '4s');
      await expect(query(promql).then(() => source)).resolves.toBe(source);
    }

    // Every rule group was loaded and evaluates without an error.
    await waitUntil(
      async () => {
        const rules = (await (await fetch(`${prometheusUrl}/api/v1/rules`)).json()) as {
          data: { groups: { rules: { health: string }[] }[] };
        };
        const all = rules.data.groups.flatMap((g) => g.rules);
        return all.length > 0 && all.every((r) => r.health === 'ok');
      },
      { timeoutMs: 20_000, describe: () => 'every rule evaluated with health ok' },
    );
  },
);
