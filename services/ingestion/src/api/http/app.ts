import express, { type Express, type RequestHandler } from 'express';
import type { Logger, ReadinessCheck, Registry } from '@framewise/observability';
import { httpMetrics, opsRoutes } from '@framewise/observability';
import { openApiRoutes } from './openapi';
import { notFoundHandler, problemHandler } from './problem';
import { videoRoutes, type VideoRoutesDeps } from './videos.routes';

/** Everything the HTTP app is built from (wired in `api/main.ts`, or by a test). */
export interface AppDeps extends VideoRoutesDeps {
  readonly logger: Logger;
  readonly registry: Registry;
  readonly checks: readonly ReadinessCheck[];
  /** Runs before every /v1 route: authentication and rate limiting, or nothing. */
  readonly guard?: RequestHandler;
}

/** The API: /v1 routes, ops endpoints, and the one error middleware. */
export function createApp(deps: AppDeps): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', false);
  app.use(httpMetrics(deps.registry));
  app.use(opsRoutes({ registry: deps.registry, checks: deps.checks }));
  app.use(openApiRoutes());
  const v1 = express.Router();
  if (deps.guard) v1.use(deps.guard);
  v1.use('/videos', videoRoutes(deps));
  app.use('/v1', v1);
  app.use(notFoundHandler());
  app.use(problemHandler(deps.logger, deps.options.maxUploadBytes));
  return app;
}
