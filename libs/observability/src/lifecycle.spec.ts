import { EventEmitter } from 'node:events';
import { onShutdown } from './lifecycle';
import { captureLogLines } from './log-capture.spec-helper';
import { createLogger } from './logger';

function capture() {
  const { lines, destination } = captureLogLines();
  return { lines, logger: createLogger({ service: 'test', destination }) };
}

describe('onShutdown', () => {
  it('runs every step in order on the first signal, a failing one logged and not fatal', async () => {
    const { lines, logger } = capture();
    const signals = new EventEmitter();
    const closed: string[] = [];
    const stop = onShutdown(
      logger,
      'stopping',
      [
        { name: 'worker', close: () => closed.push('worker') },
        {
          name: 'database',
          close: () => Promise.reject(new Error('pool already ended')),
        },
        { name: 'redis', close: () => closed.push('redis') },
      ],
      signals,
    );
    signals.emit('SIGTERM');
    signals.emit('SIGINT');
    await stop();
    expect(closed).toEqual(['worker', 'redis']);
    expect(lines.map((l) => l.msg)).toEqual(['stopping', 'shutdown step failed', 'stopped']);
    expect(lines[1]).toMatchObject({ step: 'database', err: { message: 'pool already ended' } });
  });
});
