import { retryDelayMs, retryDelays } from './backoff';

const policy = { baseDelayMs: 100, maxDelayMs: 1000 };

describe('retryDelayMs', () => {
  it('doubles per failure and keeps half of it fixed (equal jitter)', () => {
    expect(retryDelayMs(1, policy, () => 0)).toBe(50);
    expect(retryDelayMs(1, policy, () => 1)).toBe(100);
    expect(retryDelayMs(3, policy, () => 0)).toBe(200);
    expect(retryDelayMs(3, policy, () => 1)).toBe(400);
  });

  it('is capped', () => {
    expect(retryDelayMs(30, policy, () => 1)).toBe(1000);
    expect(retryDelayMs(10_000, policy, () => 0.5)).toBe(750);
  });

  it('stays within [capped/2, capped] for any draw', () => {
    for (let i = 0; i < 200; i++) {
      const d = retryDelayMs(2, policy);
      expect(d).toBeGreaterThanOrEqual(100);
      expect(d).toBeLessThanOrEqual(200);
    }
  });
});

describe('retryDelays', () => {
  it('has one wait per failure that still leaves a delivery', () => {
    expect(retryDelays(4, policy, () => 1)).toEqual([100, 200, 400]);
    expect(retryDelays(1, policy)).toEqual([]);
  });
});
