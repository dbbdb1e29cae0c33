import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { Counter, Histogram } from 'prom-client';
import type { Registry } from 'prom-client';
import { LATENCY_BUCKETS_SECONDS } from './metrics';

/** The route label of requests that matched no route (so 404 scans cannot explode cardinality). */
export const UNMATCHED_ROUTE = '<unmatched>';

/**
 * Express middleware recording `framewise_http_requests_total` and
 * `framewise_http_request_duration_seconds`, labelled by method, status and the route
 * *template* (`/v1/videos/:id`), never the raw path. Mount it before the routers.
 */
export function httpMetrics(registry: Registry): RequestHandler {
  const labelNames = ['method', 'route', 'status_code'] as const;
  const requests = new Counter({
    name: 'framewise_http_requests_total',
    help: 'HTTP requests served, by method, route template and status code.',
    labelNames,
    registers: [registry],
  });
  const duration = new Histogram({
    name: 'framewise_http_request_duration_seconds',
    help: 'HTTP request latency from first byte in to last byte out, by route template.',
    labelNames,
    buckets: [...LATENCY_BUCKETS_SECONDS],
    registers: [registry],
  });

  return (req: Request, res: Response, next: NextFunction) => {
    const start = process.hrtime.bigint();
    // The route is read when the response ends: by then routing has matched (req.route and
    // req.baseUrl describe the handler that answered).
    const done = () => {
      res.removeListener('finish', done);
      res.removeListener('close', done);
      const route = routeTemplate(req) ?? UNMATCHED_ROUTE;
      const labels = { method: req.method, route, status_code: String(res.statusCode) };
      requests.inc(labels);
      duration.observe(labels, Number(process.hrtime.bigint() - start) / 1e9);
    };
    res.on('finish', done);
    res.on('close', done);
    next();
  };
}

/** The matched route's template, including the mount path of the router it lives in. */
export function routeTemplate(req: Request): string | undefined {
  const route = req.route as { path?: unknown } | undefined;
  if (route === undefined || typeof route.path !== 'string') return undefined;
  const base = req.baseUrl;
  return `${base}${route.path === '/' && base !== '' ? '' : route.path}`;
}
