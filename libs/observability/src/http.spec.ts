import express from 'express';
import request from 'supertest';
import { Counter } from 'prom-client';
import { opsRoutes, runReadinessChecks } from './health';
import { httpMetrics, UNMATCHED_ROUTE } from './http-metrics';
import { createMetricsRegistry } from './metrics';
import { startOpsServer } from './ops-server';

function appWithRoutes() {
  const registry = createMetricsRegistry({ service: 'api', processMetrics: false });
  const app = express();
  app.use(httpMetrics(registry));
  const videos = express.Router();
  videos.get('/', (_req, res) => void res.json([]));
  videos.get('/:id', (req, res) => void res.status(req.params.id === 'missing' ? 404 : 200).end());
  videos.get('/:id/frames/:index', (_req, res) => void res.end());
  app.use('/v1/videos', videos);
  app.get('/ping', (_req, res) => void res.send('pong'));
  return { app, registry };
}

async function seriesOf(registry: ReturnType<typeof createMetricsRegistry>, name: string) {
  const metric = (await registry.getMetricsAsJSON()).find((m) => m.name === name);
  return (metric?.values ?? []) as { labels: Record<string, string | number>; value: number }[];
}

describe('httpMetrics', () => {
  it('labels requests by route template, never by raw path', async () => {
    const { app, registry } = appWithRoutes();
    await request(app).get('/v1/videos/abc').expect(200);
    await request(app).get('/v1/videos/def').expect(200);
    await request(app).get('/v1/videos/missing').expect(404);
    await request(app).get('/v1/videos/abc/frames/17').expect(200);
    await request(app).get('/v1/videos').expect(200);
    await request(app).get('/ping').expect(200);
    await request(app).get('/no/such/path/123').expect(404);

    const counts = await seriesOf(registry, 'framewise_http_requests_total');
    const byKey = Object.fromEntries(
      counts.map((s) => [`${s.labels.method} ${s.labels.route} ${s.labels.status_code}`, s.value]),
    );
    expect(byKey).toEqual({
      'GET /v1/videos/:id 200': 2,
      'GET /v1/videos/:id 404': 1,
      'GET /v1/videos/:id/frames/:index 200': 1,
      'GET /v1/videos 200': 1,
      'GET /ping 200': 1,
      [`GET ${UNMATCHED_ROUTE} 404`]: 1,
    });
    for (const s of counts) expect(s.labels.service).toBe('api');

    const durations = await seriesOf(registry, 'framewise_http_request_duration_seconds');
    const countOfId = durations.find(
      (s) =>
        s.labels.route === '/v1/videos/:id' &&
        s.labels.status_code === '200' &&
        (s as { metricName?: string }).metricName ===
          'framewise_http_request_duration_seconds_count',
    );
    expect(countOfId?.value).toBe(2);
  });
});

describe('readiness', () => {
  it('reports each check by name, failing on errors and timeouts', async () => {
    const report = await runReadinessChecks([
      { name: 'redis', check: () => Promise.resolve() },
      { name: 'postgres', check: () => Promise.reject(new Error('connection refused')) },
      {
        name: 'model',
        timeoutMs: 50,
        check: (signal) =>
          new Promise((resolve) => {
            const t = setTimeout(resolve, 5000);
            signal.addEventListener('abort', () => {
              clearTimeout(t);
            });
          }),
      },
    ]);
    expect(report.status).toBe('fail');
    expect(report.checks.redis?.status).toBe('ok');
    expect(report.checks.postgres).toMatchObject({ status: 'fail', error: 'connection refused' });
    expect(report.checks.model).toMatchObject({ status: 'fail', error: 'timed out after 50 ms' });
    expect(report.checks.model!.durationMs).toBeLessThan(2000);
  });

  it('serves /healthz, /readyz and /metrics', async () => {
    const registry = createMetricsRegistry({ service: 'worker' });
    new Counter({ name: 'framewise_test_total', help: 'test', registers: [registry] }).inc(3);
    let ready = false;
    const app = express();
    app.use(
      opsRoutes({
        registry,
        checks: [
          {
            name: 'model',
            check: () =>
              ready ? Promise.resolve() : Promise.reject(new Error('model warming up')),
          },
        ],
      }),
    );

    await request(app).get('/healthz').expect(200, { status: 'ok' });
    const notReady = await request(app).get('/readyz').expect(503);
    expect(notReady.body).toMatchObject({
      status: 'fail',
      checks: { model: { status: 'fail', error: 'model warming up' } },
    });
    ready = true;
    await request(app).get('/readyz').expect(200);

    const metrics = await request(app).get('/metrics').expect(200);
    expect(metrics.headers['content-type']).toContain('text/plain');
    expect(metrics.text).toContain('framewise_test_total{service="worker"} 3');
    expect(metrics.text).toContain('framewise_process_cpu_seconds_total');
    expect(metrics.text).toContain('framewise_nodejs_eventloop_lag_seconds');
  });

  it('reports not alive when the process says so', async () => {
    const app = express();
    app.use(opsRoutes({ registry: createMetricsRegistry({ service: 'x' }), isAlive: () => false }));
    await request(app).get('/healthz').expect(503, { status: 'fail' });
  });
});

describe('startOpsServer', () => {
  it('listens on a port and closes cleanly', async () => {
    const registry = createMetricsRegistry({ service: 'reaper', processMetrics: false });
    const server = await startOpsServer({ registry, port: 0, host: '127.0.0.1' });
    try {
      const res = await fetch(`${server.url}/healthz`);
      expect(res.status).toBe(200);
      await fetch(`${server.url}/metrics`);
      const text = await (await fetch(`${server.url}/metrics`)).text();
      expect(text).toContain(
        'framewise_http_requests_total{method="GET",route="/metrics",status_code="200",service="reaper"} 1',
      );
    } finally {
      await server.close();
    }
    await expect(fetch(`${server.url}/healthz`)).rejects.toThrow();
  });
});
