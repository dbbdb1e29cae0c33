import express from 'express';
import type { Request, Response, Router } from 'express';
import type { Registry } from 'prom-client';

/** One named readiness check: resolves when the dependency is usable, rejects (or times out) when not. */
export interface ReadinessCheck {
  readonly name: string;
  readonly check: (signal: AbortSignal) => Promise<void>;
  /** How long the check may take before it counts as failed. Default 2 s. */
  readonly timeoutMs?: number;
}

export interface CheckResult {
  readonly status: 'ok' | 'fail';
  readonly durationMs: number;
  readonly error?: string;
}

export interface ReadinessReport {
  readonly status: 'ok' | 'fail';
  readonly checks: Readonly<Record<string, CheckResult>>;
}

const DEFAULT_CHECK_TIMEOUT_MS = 2000;

/** Runs every check at once, each under its own timeout, and reports each by name. */
export async function runReadinessChecks(
  checks: readonly ReadinessCheck[],
): Promise<ReadinessReport> {
  const results = await Promise.all(checks.map(async (c) => [c.name, await runOne(c)] as const));
  return {
    status: results.every(([, r]) => r.status === 'ok') ? 'ok' : 'fail',
    checks: Object.fromEntries(results),
  };
}

async function runOne(check: ReadinessCheck): Promise<CheckResult> {
  const timeoutMs = check.timeoutMs ?? DEFAULT_CHECK_TIMEOUT_MS;
  const controller = new AbortController();
  const started = performance.now();
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      controller.abort();
      reject(new Error(`timed out after ${timeoutMs} ms`));
    }, timeoutMs);
  });
  try {
    await Promise.race([check.check(controller.signal), timeout]);
    return { status: 'ok', durationMs: elapsed(started) };
  } catch (error) {
    return { status: 'fail', durationMs: elapsed(started), error: describe(error) };
  } finally {
    clearTimeout(timer);
  }
}

function elapsed(started: number): number {
  return Math.round((performance.now() - started) * 10) / 10;
}

function describe(error: unknown): string {
  if (error instanceof Error) return error.message || error.name;
  return String(error);
}

export interface OpsRoutesOptions {
  readonly registry: Registry;
  readonly checks?: readonly ReadinessCheck[];
  /** Liveness: false once the process knows it is broken beyond repair. Default: always alive. */
  readonly isAlive?: () => boolean;
}

/**
 * `/healthz` (the process is alive), `/readyz` (every dependency answers, each check reported
 * by name; 503 when any fails) and `/metrics` (Prometheus text format), as a router any
 * service mounts at its root.
 */
export function opsRoutes(options: OpsRoutesOptions): Router {
  const router = express.Router();
  const checks = options.checks ?? [];

  router.get('/healthz', (_req: Request, res: Response) => {
    const alive = options.isAlive?.() ?? true;
    res.status(alive ? 200 : 503).json({ status: alive ? 'ok' : 'fail' });
  });

  router.get('/readyz', async (_req: Request, res: Response) => {
    const report = await runReadinessChecks(checks);
    res.status(report.status === 'ok' ? 200 : 503).json(report);
  });

  router.get('/metrics', async (_req: Request, res: Response) => {
    res.setHeader('Content-Type', options.registry.contentType);
    res.send(await options.registry.metrics());
  });

  return router;
}
