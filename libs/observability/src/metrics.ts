import { Registry, collectDefaultMetrics } from 'prom-client';

export { Counter, Gauge, Histogram, Summary, Registry } from 'prom-client';

export interface MetricsRegistryOptions {
  /** Bound to every series as the `service` label. */
  readonly service: string;
  /** Default process metrics (CPU, memory, event-loop lag, GC); on unless turned off. */
  readonly processMetrics?: boolean;
  /** Extra labels on every series (for example `instance`). */
  readonly labels?: Readonly<Record<string, string>>;
}

/**
 * A registry per process, built in `main.ts` and passed to whatever records metrics. No
 * module-level default registry is used anywhere, so tests can build as many as they like.
 */
export function createMetricsRegistry(options: MetricsRegistryOptions): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ service: options.service, ...options.labels });
  if (options.processMetrics !== false) {
    collectDefaultMetrics({ register: registry, prefix: 'framewise_' });
  }
  return registry;
}

/**
 * Latency buckets in seconds from 1 ms to 60 s, fine-grained where inference, database writes
 * and HTTP requests spend their time.
 */
export const LATENCY_BUCKETS_SECONDS: readonly number[] = [
  0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60,
];
