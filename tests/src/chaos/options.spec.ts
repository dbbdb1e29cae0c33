import { parseChaosArgs } from './options';

it('runs both fsync modes in full mode and everysec alone in short mode', () => {
  const full = parseChaosArgs([], 5);
  const short = parseChaosArgs(['--short'], 5);
  expect(full !== 'help' && full.fsyncs).toEqual(['everysec', 'always']);
  expect(short !== 'help' && short.fsyncs).toEqual(['everysec']);
  expect(short !== 'help' && full !== 'help' && short.durationMs < full.durationMs).toBe(true);
});

it('takes --fsync, --seed, --videos, --duration and --keep', () => {
  const options = parseChaosArgs(
    [
      '--short',
      '--fsync',
      'always',
      '--seed',
      '99',
      '--videos',
      '12',
      '--duration',
      '40',
      '--keep',
    ],
    5,
  );
  expect(options).toMatchObject({
    mode: 'short',
    fsyncs: ['always'],
    seed: 99,
    videos: 12,
    durationMs: 40_000,
    keep: true,
  });
  // Uploads take at most a quarter of a short window.
  expect(options !== 'help' && options.uploadSpreadMs).toBe(10_000);
});

it('refuses fewer than 10 videos, unknown modes and unknown flags', () => {
  expect(() => parseChaosArgs(['--videos', '3'], 5)).toThrow(/--videos/);
  expect(() => parseChaosArgs(['--fsync', 'no'], 5)).toThrow(/--fsync/);
  expect(() => parseChaosArgs(['--bogus'], 5)).toThrow();
  expect(parseChaosArgs(['--help'], 5)).toBe('help');
});
