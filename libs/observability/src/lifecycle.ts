import type { Logger } from 'pino';

/** One step of a graceful shutdown: what it closes, and how. */
export interface ShutdownStep {
  readonly name: string;
  readonly close: () => unknown;
}

/** Where shutdown signals come from; `process` in services, an EventEmitter in tests. */
export interface SignalSource {
  once(event: 'SIGTERM' | 'SIGINT', listener: () => void): unknown;
}

/**
 * On SIGTERM or SIGINT (the first one only), logs `message` and runs the steps in order. Each
 * step is guarded: one failing is logged and does not skip closing the rest. Returns the stop
 * function, which can also be called directly.
 */
export function onShutdown(
  logger: Logger,
  message: string,
  steps: readonly ShutdownStep[],
  signals: SignalSource = process,
): () => Promise<void> {
  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      logger.info(message);
      for (const step of steps) {
        try {
          await step.close();
        } catch (err) {
          logger.error({ err, step: step.name }, 'shutdown step failed');
        }
      }
      logger.info('stopped');
    })();
    return stopping;
  };
  signals.once('SIGTERM', () => void stop());
  signals.once('SIGINT', () => void stop());
  return stop;
}

/**
 * Runs an entry's `main`. A start-up failure (a ConfigError listing every bad variable, an
 * unreachable dependency, a bad model) is printed and the process exits 1 at once: connections
 * opened before the failure would otherwise keep it alive.
 */
export function runMain(name: string, main: () => Promise<void>): void {
  main().catch((error: unknown) => {
    const detail = error instanceof Error ? (error.stack ?? error.message) : String(error);
    process.stderr.write(`${name} failed to start: ${detail}\n`);
    process.exit(1);
  });
}
