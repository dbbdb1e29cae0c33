import { runPassed } from './run';

describe('runPassed', () => {
  const good = {
    verdictOk: true,
    drainSeconds: 12.5,
    uploadsFailed: [],
    restartsFailed: [],
    apiStatusAfter: 200,
  };

  it('passes a run where everything held and the API still accepts the key', () => {
    expect(runPassed(good)).toBe(true);
  });

  it('fails a run whose API key stopped working after the faults (401), or no answer (0)', () => {
    expect(runPassed({ ...good, apiStatusAfter: 401 })).toBe(false);
    expect(runPassed({ ...good, apiStatusAfter: 503 })).toBe(false);
    expect(runPassed({ ...good, apiStatusAfter: 0 })).toBe(false);
  });

  it('fails on a bad verdict, no drain, a failed upload or a replacement that never came', () => {
    expect(runPassed({ ...good, verdictOk: false })).toBe(false);
    expect(runPassed({ ...good, drainSeconds: null })).toBe(false);
    expect(runPassed({ ...good, uploadsFailed: ['a.mp4: 500'] })).toBe(false);
    expect(runPassed({ ...good, restartsFailed: ['worker'] })).toBe(false);
  });
});
