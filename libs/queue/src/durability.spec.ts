import { assessDurability } from './durability';
import { describeError, isPermanent, InvalidPayloadError, PermanentJobError } from './errors';

describe('assessDurability', () => {
  it('accepts AOF with noeviction', () => {
    const report = assessDurability({
      appendonly: 'yes',
      'maxmemory-policy': 'noeviction',
      maxmemory: '0',
    });
    expect(report.problems).toEqual([]);
    expect(report.checked).toBe(true);
  });

  it('flags AOF off', () => {
    const report = assessDurability({
      appendonly: 'no',
      'maxmemory-policy': 'noeviction',
      maxmemory: '0',
    });
    expect(report.problems).toEqual([expect.stringMatching(/appendonly is no/)]);
  });

  it('flags eviction only when a memory limit makes it possible', () => {
    expect(
      assessDurability({ appendonly: 'yes', 'maxmemory-policy': 'allkeys-lru', maxmemory: '0' })
        .problems,
    ).toEqual([]);
    expect(
      assessDurability({
        appendonly: 'yes',
        'maxmemory-policy': 'allkeys-lru',
        maxmemory: '1000000',
      }).problems,
    ).toEqual([expect.stringMatching(/deletes queue lists/)]);
    expect(
      assessDurability({
        appendonly: 'yes',
        'maxmemory-policy': 'volatile-lru',
        maxmemory: '1000000',
      }).problems,
    ).toEqual([expect.stringMatching(/evict heartbeats/)]);
  });

  it('reports an unchecked server when CONFIG is unavailable', () => {
    expect(assessDurability(undefined)).toMatchObject({ checked: false, problems: [] });
  });
});

describe('errors', () => {
  it('treats only permanent errors (and malformed payloads) as permanent', () => {
    expect(isPermanent(new PermanentJobError('x'))).toBe(true);
    expect(isPermanent(new InvalidPayloadError('x', undefined))).toBe(true);
    expect(isPermanent(new Error('x'))).toBe(false);
  });

  it('describes anything thrown in one bounded line', () => {
    expect(describeError(new PermanentJobError('gone'))).toBe('PermanentJobError: gone');
    expect(describeError(undefined)).toBe('undefined');
    expect(describeError({ a: 1 })).toBe('{"a":1}');
    expect(describeError('x'.repeat(50), 10)).toHaveLength(10);
  });
});
