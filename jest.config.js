// Every test in the workspace: `npm test` (both tiers), `npm run test:unit`, `npm run test:int`.
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { tiers, testTimeout, testSequencer } = require('./jest.preset.js');

module.exports = {
  // Only folders that exist: a fresh clone has no services/ until a service lands.
  projects: tiers(
    ['libs', 'services', 'tests', 'deploy']
      .filter((d) => fs.existsSync(path.join(__dirname, d)))
      .map((d) => `<rootDir>/${d}`),
  ),
  testTimeout,
  testSequencer,
  // Integration tests wait on I/O far more than on CPU, and test files must really run side by
  // side for the isolation guarantees to be exercised, so use at least two workers even on a
  // two-core machine (jest's default there would be one).
  maxWorkers: Math.max(2, os.availableParallelism() - 1),
};
