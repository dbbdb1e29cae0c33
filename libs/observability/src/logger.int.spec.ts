import { execFile } from 'node:child_process';
import path from 'node:path';

/**
 * Runs a program that logs `count` lines with a sync logger, then SIGKILLs itself; resolves
 * with its stdout. (With an async logger, only 1 line of 2,000 came out.)
 */
function logThenKill(count: number): Promise<{ stdout: string; signal: string | null }> {
  const script = `
    const { createLogger } = require(${JSON.stringify(path.join(__dirname, 'logger.ts'))});
    const logger = createLogger({ service: 'worker', sync: true });
    setTimeout(() => {
      for (let i = 0; i < ${count}; i++) logger.error({ i, pad: 'x'.repeat(200) }, 'line');
      process.kill(process.pid, 'SIGKILL');
    }, 50);`;
  return new Promise((resolve) => {
    const child = execFile(
      process.execPath,
      ['--import', 'tsx', '-e', script],
      (_error, stdout) => {
        resolve({ stdout, signal: child.signalCode });
      },
    );
  });
}

describe('createLogger({ sync: true })', () => {
  it('has every line on standard output before a SIGKILL the process sends itself', async () => {
    const { stdout, signal } = await logThenKill(2_000);
    expect(signal).toBe('SIGKILL');
    const lines = stdout.trim().split('\n');
    expect(lines).toHaveLength(2_000);
    expect(JSON.parse(lines[1_999] ?? '{}')).toMatchObject({ i: 1_999, msg: 'line' });
  }, 30_000);
});
