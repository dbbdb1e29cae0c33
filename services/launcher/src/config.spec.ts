import fs from 'node:fs';
import path from 'node:path';
import { undocumentedVariables } from '@framewise/config';
import { forwardedServiceEnv, launcherConfigSchema } from './config';

test('forwardedServiceEnv passes service tuning through and nothing else', () => {
  expect(
    forwardedServiceEnv({
      LOG_LEVEL: 'debug',
      WORKER_BATCH_MAX: '16',
      WORKER_MODEL_PATH: '/m.onnx', // the launcher resolves the model itself
      EXTRACT_BATCH_SIZE: '64',
      REAPER_RECLAIM_INTERVAL: '2s',
      UPLOAD_MAX_BYTES: '1000',
      DEFAULT_SAMPLING: 'fps:2',
      REDIS_URL: 'redis://elsewhere:6379', // the stack's own servers, never the caller's
      DATABASE_URL: 'postgres://elsewhere/db',
      HOME: '/root',
      WORKER_THREADS: '',
    }),
  ).toEqual({
    LOG_LEVEL: 'debug',
    WORKER_BATCH_MAX: '16',
    EXTRACT_BATCH_SIZE: '64',
    REAPER_RECLAIM_INTERVAL: '2s',
    UPLOAD_MAX_BYTES: '1000',
    DEFAULT_SAMPLING: 'fps:2',
  });
});

test('the README names every variable the launcher reads', () => {
  const readme = fs.readFileSync(path.join(__dirname, '..', 'README.md'), 'utf8');
  expect(undocumentedVariables(launcherConfigSchema, readme)).toEqual([]);
});
