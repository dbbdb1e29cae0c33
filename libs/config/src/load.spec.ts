import { ConfigError, describeConfig, loadConfig, maskUrlPassword, secret } from './load';
import { bool, duration, int, list, oneOf, port, text, url } from './fields';
import { fragments, z } from './index';

const schema = z.object({
  ...fragments.logging,
  ...fragments.redis,
  ...fragments.database,
  PORT: port({ default: 8080 }),
  BATCH: int({ min: 1, max: 64, default: 8 }),
  TIMEOUT: duration({ default: '30s' }),
  DEBUG_SQL: bool({ default: false }),
  MODELS: list({ default: ['yolov8n'] }),
  API_KEY: secret(text()),
});

function load(env: Record<string, string>) {
  return loadConfig(schema, env, { service: 'test-service' });
}

const good = { DATABASE_URL: 'postgres://fw:pw@db:5432/fw', API_KEY: 'k-123' };

describe('loadConfig', () => {
  it('returns a typed object with defaults applied', () => {
    const config = load(good);
    expect(config).toEqual({
      LOG_LEVEL: 'info',
      LOG_FORMAT: 'json',
      REDIS_URL: 'redis://127.0.0.1:6379',
      REDIS_REQUIRE_DURABILITY: false,
      DATABASE_URL: 'postgres://fw:pw@db:5432/fw',
      PORT: 8080,
      BATCH: 8,
      TIMEOUT: 30_000,
      DEBUG_SQL: false,
      MODELS: ['yolov8n'],
      API_KEY: 'k-123',
    });
  });

  it('parses every kind of field', () => {
    const config = load({
      ...good,
      PORT: '9000',
      BATCH: ' 16 ',
      TIMEOUT: '1.5m',
      DEBUG_SQL: 'YES',
      MODELS: 'a, b,,c',
      LOG_FORMAT: 'pretty',
    });
    expect(config.PORT).toBe(9000);
    expect(config.BATCH).toBe(16);
    expect(config.TIMEOUT).toBe(90_000);
    expect(config.DEBUG_SQL).toBe(true);
    expect(config.MODELS).toEqual(['a', 'b', 'c']);
    expect(config.LOG_FORMAT).toBe('pretty');
  });

  it('treats an empty variable as unset, so the default applies', () => {
    expect(load({ ...good, PORT: '', BATCH: '  ' }).PORT).toBe(8080);
  });

  it('lists every bad variable in one error, each with what it expects', () => {
    let error: unknown;
    try {
      load({
        REDIS_URL: 'http://localhost:6379',
        PORT: '70000',
        BATCH: 'eight',
        TIMEOUT: 'soon',
        DEBUG_SQL: 'maybe',
        LOG_LEVEL: 'loud',
        API_KEY: '   ',
      });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const configError = error as ConfigError;
    expect(configError.problems.map((p) => p.variable).sort()).toEqual(
      [
        'API_KEY',
        'BATCH',
        'DATABASE_URL',
        'DEBUG_SQL',
        'LOG_LEVEL',
        'PORT',
        'REDIS_URL',
        'TIMEOUT',
      ].sort(),
    );
    const message = configError.message;
    expect(message).toContain('Invalid configuration for test-service: 8 variables are wrong');
    expect(message).toContain('PORT: expected a whole number from 1 to 65535; got "70000"');
    expect(message).toContain('BATCH: expected a whole number from 1 to 64; got "eight"');
    expect(message).toContain('TIMEOUT: expected a duration like 500ms, 30s, 5m or 1h');
    expect(message).toContain('DEBUG_SQL: expected true or false; got "maybe"');
    expect(message).toContain('LOG_LEVEL: expected one of fatal, error, warn, info');
    expect(message).toContain('DATABASE_URL: expected a postgres or postgresql URL');
    expect(message).toContain('it is not set');
  });

  it('never echoes the value of a secret variable', () => {
    const s = z.object({ REDIS_URL: secret(url(['redis:'])) });
    expect(() => loadConfig(s, { REDIS_URL: 'http://:hunter2@redis' }, { service: 'x' })).toThrow(
      /REDIS_URL: expected a redis URL.*got \(hidden\)/,
    );
    try {
      loadConfig(s, { REDIS_URL: 'http://:hunter2@redis' }, { service: 'x' });
    } catch (e) {
      expect((e as Error).message).not.toContain('hunter2');
    }
  });

  it('ignores variables the schema does not name', () => {
    expect(() => load({ ...good, UNRELATED: 'whatever' })).not.toThrow();
  });

  it('rejects a value outside an enum with the list of allowed values', () => {
    const s = z.object({ MODE: oneOf(['a', 'b']) });
    expect(() => loadConfig(s, { MODE: 'c' }, { service: 'x' })).toThrow(
      'MODE: expected one of a, b; got "c"',
    );
  });
});

describe('describeConfig', () => {
  it('hides secrets and masks URL passwords', () => {
    const config = load({ ...good, REDIS_URL: 'redis://:pw@redis:6379' });
    const shown = describeConfig(schema, config);
    expect(shown.API_KEY).toBe('(hidden)');
    expect(shown.DATABASE_URL).toBe('(hidden)');
    expect(shown.REDIS_URL).toBe('(hidden)');
    expect(shown.PORT).toBe(8080);
  });

  it('maskUrlPassword masks only a password', () => {
    expect(maskUrlPassword('postgres://u:secret@h:5432/db')).toBe('postgres://u:***@h:5432/db');
    expect(maskUrlPassword('redis://h:6379')).toBe('redis://h:6379');
    expect(maskUrlPassword('not a url')).toBe('not a url');
  });
});
