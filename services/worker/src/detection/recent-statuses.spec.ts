import { RecentStatuses } from './recent-statuses';

function clock() {
  const c = { t: 0, now: () => c.t };
  return c;
}

describe('RecentStatuses', () => {
  it('reuses a live status within its time to live, then asks again', () => {
    const c = clock();
    const recent = new RecentStatuses(1000, 100, c.now);
    expect(recent.lookup(['a'])).toEqual({ known: new Map(), stale: ['a'] });
    recent.remember(new Map([['a', 'detecting']]));
    c.t = 1000;
    expect(recent.lookup(['a', 'b'])).toEqual({
      known: new Map([['a', 'detecting']]),
      stale: ['b'],
    });
    c.t = 1001;
    expect(recent.lookup(['a']).stale).toEqual(['a']);
  });

  it('keeps a final status for good: it never changes', () => {
    const c = clock();
    const recent = new RecentStatuses(1000, 100, c.now);
    recent.remember(new Map([['a', 'canceled']]));
    c.t = 1e9;
    expect(recent.lookup(['a']).known.get('a')).toBe('canceled');
  });

  it('a fresher answer replaces the old one', () => {
    const c = clock();
    const recent = new RecentStatuses(1000, 100, c.now);
    recent.remember(new Map([['a', 'detecting']]));
    recent.remember(new Map([['a', 'canceled']]));
    expect(recent.lookup(['a']).known.get('a')).toBe('canceled');
  });

  it('forgets the videos seen longest ago beyond its capacity', () => {
    const recent = new RecentStatuses(1000, 2, clock().now);
    recent.remember(new Map([['a', 'canceled']]));
    recent.remember(new Map([['b', 'canceled']]));
    recent.remember(new Map([['a', 'canceled']])); // a seen again: b is now the oldest
    recent.remember(new Map([['c', 'canceled']]));
    expect(recent.lookup(['a', 'b', 'c']).stale).toEqual(['b']);
  });
});
