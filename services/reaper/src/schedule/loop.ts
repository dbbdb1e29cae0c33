import type { Logger } from '@framewise/observability';

/**
 * Runs `pass` every `intervalMs` (measured from the end of one pass to the start of the
 * next, so a slow pass never overlaps itself). A failing pass is logged and counted; the loop
 * goes on: the reaper must never exit because Postgres or Redis blinked.
 */
export class IntervalLoop {
  private timer: NodeJS.Timeout | undefined;
  private current: Promise<void> | undefined;
  private stopped = true;

  constructor(
    private readonly name: string,
    private readonly intervalMs: number,
    private readonly pass: () => Promise<void>,
    private readonly logger: Logger,
    private readonly onError: () => void = () => undefined,
  ) {}

  start(): void {
    this.stopped = false;
    this.schedule(0);
  }

  /** Stops scheduling and waits for a pass in progress to end. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.current;
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.current = this.pass()
        .catch((error: unknown) => {
          this.onError();
          this.logger.warn({ err: error, loop: this.name }, `${this.name} pass failed`);
        })
        .finally(() => {
          this.current = undefined;
          this.schedule(this.intervalMs);
        });
    }, delayMs);
  }
}
