import { QueueConfigError } from './errors';
import { queueKeys } from './keys';

describe('queueKeys', () => {
  it('puts every key of a queue under one hash tag', () => {
    const keys = queueKeys('frames');
    expect(keys.pending).toBe('fw:{frames}:pending');
    expect(keys.processing('w-1')).toBe('fw:{frames}:processing:w-1');
    const all = [
      keys.pending,
      keys.delayed,
      keys.dead,
      keys.consumers,
      keys.attempts,
      keys.processing('a'),
      keys.heartbeat('a'),
    ];
    // Redis Cluster hashes the text between the first { and the next }.
    for (const key of all) expect(/\{([^}]*)\}/.exec(key)?.[1]).toBe('frames');
  });

  it('takes a configurable prefix', () => {
    expect(queueKeys('videos', 't:queue:ab12:').dead).toBe('t:queue:ab12:{videos}:dead');
  });

  it.each(['', 'a b', 'x{y}', 'a}'])('rejects the queue name %j', (name) => {
    expect(() => queueKeys(name)).toThrow(QueueConfigError);
  });

  it('rejects braces in the prefix, which would steal the hash tag', () => {
    expect(() => queueKeys('frames', '{fw}:')).toThrow(QueueConfigError);
  });

  it('rejects consumer ids that would break the key', () => {
    expect(() => queueKeys('frames').processing('a}b')).toThrow(QueueConfigError);
  });
});
