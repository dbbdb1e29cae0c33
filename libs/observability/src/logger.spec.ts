import { captureLogLines as capture } from './log-capture.spec-helper';
import { createLogger, withContext } from './logger';

describe('createLogger', () => {
  it('writes JSON lines bound to the service, with ISO time and a level label', () => {
    const { lines, destination } = capture();
    const logger = createLogger({ service: 'worker', destination });
    logger.info({ frames: 3 }, 'batch done');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      service: 'worker',
      level: 'info',
      msg: 'batch done',
      frames: 3,
    });
    expect(typeof lines[0]!.time).toBe('string');
    expect(new Date(lines[0]!.time as string).toISOString()).toBe(lines[0]!.time);
  });

  it('binds component and job ids in child loggers', () => {
    const { lines, destination } = capture();
    const logger = createLogger({ service: 'worker', destination });
    const child = withContext(logger, { component: 'consumer', videoId: 'v1', jobId: 'j9' });
    child.warn('slow frame');
    expect(lines[0]).toMatchObject({
      service: 'worker',
      component: 'consumer',
      videoId: 'v1',
      jobId: 'j9',
      level: 'warn',
    });
  });

  it('redacts secrets in headers, payloads and configs, also in children', () => {
    const { lines, destination } = capture();
    const logger = createLogger({ service: 'api', destination, redact: ['custom.key'] });
    withContext(logger, { component: 'http' }).info({
      req: { headers: { authorization: 'Bearer abc', cookie: 'sid=1', accept: '*/*' } },
      user: { password: 'hunter2', name: 'ann' },
      config: { DATABASE_URL: 'postgres://u:pw@h/db', PORT: 8080 },
      custom: { key: 'zzz' },
      apiKey: 'fw_live_123',
    });
    const line = JSON.stringify(lines[0]);
    for (const secret of ['Bearer abc', 'sid=1', 'hunter2', 'pw@h', 'zzz', 'fw_live_123']) {
      expect(line).not.toContain(secret);
    }
    expect(lines[0]).toMatchObject({
      req: { headers: { accept: '*/*', authorization: '[redacted]' } },
      user: { name: 'ann', password: '[redacted]' },
      config: { PORT: 8080, DATABASE_URL: '[redacted]' },
    });
  });

  it('respects the level', () => {
    const { lines, destination } = capture();
    const logger = createLogger({ service: 'x', level: 'warn', destination });
    logger.info('hidden');
    logger.error('shown');
    expect(lines.map((l) => l.msg)).toEqual(['shown']);
  });

  it('serializes errors with their stack', () => {
    const { lines, destination } = capture();
    createLogger({ service: 'x', destination }).error({ err: new TypeError('boom') }, 'failed');
    expect(lines[0]).toMatchObject({ err: { type: 'TypeError', message: 'boom' } });
    expect((lines[0]!.err as { stack: string }).stack).toContain('TypeError: boom');
  });
});
