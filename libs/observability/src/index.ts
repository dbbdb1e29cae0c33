/**
 * @framewise/observability — what every framewise process uses to be observable:
 * a pino root logger with redaction and bound context, a prom-client registry with process
 * metrics, HTTP metrics by route template, and the /healthz, /readyz, /metrics endpoints.
 */
export { createLogger, withContext, REDACTED_PATHS } from './logger';
export type { Logger, LogLevel, LoggerFactoryOptions, LogContext } from './logger';
export {
  createMetricsRegistry,
  LATENCY_BUCKETS_SECONDS,
  Counter,
  Gauge,
  Histogram,
  Summary,
  Registry,
} from './metrics';
export type { MetricsRegistryOptions } from './metrics';
export { httpMetrics, routeTemplate, UNMATCHED_ROUTE } from './http-metrics';
export { opsRoutes, runReadinessChecks } from './health';
export type { ReadinessCheck, CheckResult, ReadinessReport, OpsRoutesOptions } from './health';
export { startOpsServer } from './ops-server';
export type { OpsServer } from './ops-server';
export { onShutdown, runMain } from './lifecycle';
export type { ShutdownStep, SignalSource } from './lifecycle';
