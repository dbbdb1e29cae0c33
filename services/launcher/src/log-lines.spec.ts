import { consoleLine } from './log-lines';

test('consoleLine shows warnings, errors and non-JSON output, and hides info', () => {
  expect(consoleLine('worker-1', '{"level":30,"msg":"claimed"}')).toBeUndefined();
  expect(consoleLine('worker-1', '{"level":40,"msg":"slow batch"}')).toBe(
    '[worker-1] WARN slow batch',
  );
  expect(consoleLine('api-1', '{"level":50,"msg":"upload failed","err":{"message":"EIO"}}')).toBe(
    '[api-1] ERROR upload failed: EIO',
  );
  expect(consoleLine('reaper-1', 'reaper failed to start: Error: boom')).toBe(
    '[reaper-1] reaper failed to start: Error: boom',
  );
  expect(consoleLine('reaper-1', '   ')).toBeUndefined();
});
