import type { SuiteContext } from './context';

/** The input channels the suite covers. */
export type Channel = 'http' | 'queue' | 'storage' | 'model';

/**
 * One bad input. `run` sends it and throws a CaseFailure (or any error) when the system's
 * answer is not `expected`. A case with `stage` runs in two steps around a pause of every
 * worker: `stage` while no worker runs (the frames wait in the queue), `run` after the workers
 * are back.
 */
export interface BadInputCase {
  readonly channel: Channel;
  readonly name: string;
  /** The answer the system must give, in words (printed with a failure). */
  readonly expected: string;
  /** Runs while every worker is stopped; its result is handed to `run`. */
  readonly stage?: (ctx: SuiteContext) => Promise<unknown>;
  run(ctx: SuiteContext, staged?: unknown): Promise<void>;
}
