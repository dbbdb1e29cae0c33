// Every test in the workspace: `npm test` (both tiers), `npm run test:unit`, `npm run test:int`.
const os = require('node:os');
const { tiers, testTimeout } = require('./jest.preset.js');

module.exports = {
  projects: tiers(['<rootDir>/libs', '<rootDir>/services']),
  testTimeout,
  // Integration tests wait on I/O far more than on CPU, and test files must really run side by
  // side for the isolation guarantees to be exercised, so use at least two workers even on a
  // two-core machine (jest's default there would be one).
  maxWorkers: Math.max(2, os.availableParallelism() - 1),
};
