import {
  FINAL_STATUSES,
  VIDEO_TRANSITIONS,
  statusesLeadingTo,
  transitionColumn,
} from './lifecycle';

describe('video lifecycle', () => {
  it('flows uploaded → extracting → detecting → completed, with failure and cancel on the way', () => {
    expect(statusesLeadingTo('extracting')).toEqual(['uploaded', 'extracting']);
    expect(statusesLeadingTo('detecting')).toEqual(['extracting']);
    expect(statusesLeadingTo('completed')).toEqual(['detecting']);
    expect(statusesLeadingTo('completed_with_errors')).toEqual(['detecting']);
    expect(statusesLeadingTo('failed')).toEqual(['uploaded', 'extracting', 'detecting']);
    expect(statusesLeadingTo('canceled')).toEqual(['uploaded', 'extracting', 'detecting']);
  });

  it('ends in final statuses', () => {
    for (const status of FINAL_STATUSES) expect(VIDEO_TRANSITIONS[status]).toEqual([]);
  });

  it('stamps each transition in its own column', () => {
    expect(transitionColumn('extracting')).toBe('extracting_at');
    expect(transitionColumn('detecting')).toBe('detecting_at');
    expect(transitionColumn('completed')).toBe('completed_at');
    expect(transitionColumn('completed_with_errors')).toBe('completed_at');
    expect(transitionColumn('failed')).toBe('failed_at');
    expect(transitionColumn('canceled')).toBe('canceled_at');
  });
});
