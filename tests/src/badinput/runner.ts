// Runs the case table: plain cases one by one, each followed by the serving check; staged cases
// around one pause of every worker; then the invariant that nothing accepted was lost.
import type { BadInputCase } from './case';
import { checkServing, type SuiteContext } from './context';

export interface CaseResult {
  readonly channel: string;
  readonly name: string;
  readonly expected: string;
  readonly passed: boolean;
  readonly error?: string;
  readonly ms: number;
}

type Log = (line: string) => void;

/** Runs every case and the final invariant; never throws for a failing case. */
export async function runCases(
  ctx: SuiteContext,
  cases: readonly BadInputCase[],
  finalCheck: (ctx: SuiteContext) => Promise<void>,
  log: Log,
): Promise<CaseResult[]> {
  const results: CaseResult[] = [];
  const record = (
    c: { readonly channel: string; readonly name: string; readonly expected: string },
    started: number,
    error?: unknown,
  ) => {
    const result: CaseResult = {
      channel: c.channel,
      name: c.name,
      expected: c.expected,
      passed: error === undefined,
      ...(error === undefined ? {} : { error: describe(error) }),
      ms: Date.now() - started,
    };
    results.push(result);
    log(
      `${result.passed ? 'ok  ' : 'FAIL'} ${c.name} (${result.ms} ms)${result.error ? `\n     expected: ${c.expected}\n     got: ${result.error}` : ''}`,
    );
  };
  const attempt = async (c: BadInputCase, body: () => Promise<void>) => {
    const started = Date.now();
    try {
      await body();
    } catch (error) {
      record(c, started, error);
      return;
    }
    try {
      await checkServing(ctx, c.name);
      record(c, started);
    } catch (error) {
      record(c, started, new Error(`the system is not serving afterwards: ${describe(error)}`));
    }
  };

  for (const c of cases.filter((k) => k.stage === undefined)) {
    await attempt(c, () => c.run(ctx));
  }

  const staged = cases.filter((k) => k.stage !== undefined);
  if (staged.length > 0) {
    log(`pausing every worker for ${staged.length} staged case(s)`);
    const workers = ctx.stack.processes('worker');
    await Promise.all(workers.map((w) => w.terminate()));
    const outcomes = new Map<
      BadInputCase,
      { ok: true; value: unknown } | { ok: false; error: unknown }
    >();
    for (const c of staged) {
      try {
        outcomes.set(c, { ok: true, value: await c.stage?.(ctx) });
      } catch (error) {
        outcomes.set(c, { ok: false, error });
      }
    }
    log('workers back');
    await Promise.all(workers.map((w) => w.restart()));
    for (const c of staged) {
      const outcome = outcomes.get(c);
      if (outcome && !outcome.ok) {
        record(c, Date.now(), outcome.error);
        continue;
      }
      await attempt(c, () => c.run(ctx, outcome?.value));
    }
  }

  const invariant = {
    channel: 'all',
    name: 'invariant: every video accepted before and during the suite completed with all its results',
    expected:
      'each completed, with one result per sampled frame (and the exact truth for the first ones)',
  };
  const started = Date.now();
  try {
    await finalCheck(ctx);
    record(invariant, started);
  } catch (error) {
    record(invariant, started, error);
  }
  return results;
}

function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  // fetch reports network failures as "fetch failed" with the reason in `cause`.
  return error.cause === undefined ? error.message : `${error.message} (${describe(error.cause)})`;
}
