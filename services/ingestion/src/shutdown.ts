import type { Logger } from '@framewise/observability';

/** One step of a graceful shutdown: what it closes, and how. */
export interface ShutdownStep {
  readonly name: string;
  readonly close: () => unknown;
}

/**
 * On SIGTERM or SIGINT (once), runs the steps in order. Each step is guarded: one failing is
 * logged and does not skip closing the rest.
 */
export function onShutdown(logger: Logger, message: string, steps: readonly ShutdownStep[]): void {
  let stopping = false;
  const stop = async (): Promise<void> => {
    if (stopping) return;
    stopping = true;
    logger.info(message);
    for (const step of steps) {
      try {
        await step.close();
      } catch (err) {
        logger.error({ err, step: step.name }, 'shutdown step failed');
      }
    }
  };
  process.once('SIGTERM', () => void stop());
  process.once('SIGINT', () => void stop());
}

/** Runs an entry's `main`, exiting 1 with the error (a ConfigError lists every bad variable). */
export function runMain(main: () => Promise<void>): void {
  main().catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}
