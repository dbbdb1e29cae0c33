#!/usr/bin/env node
// The README's test command (`npm test`): runs jest over the whole workspace (both tiers, or the
// tier named with --selectProjects), then prints jest's totals as one plain last line,
// "N passed, N failed, N skipped", which CI reads. Extra arguments go to jest.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const jestBin = require.resolve('jest/bin/jest');
const resultsFile = path.join(
  fs.mkdtempSync(path.join(os.tmpdir(), 'framewise-jest-')),
  'results.json',
);

const run = spawnSync(
  process.execPath,
  [jestBin, '--json', `--outputFile=${resultsFile}`, ...process.argv.slice(2)],
  { stdio: 'inherit' },
);

let summary;
try {
  const results = JSON.parse(fs.readFileSync(resultsFile, 'utf8'));
  summary = {
    passed: results.numPassedTests,
    failed: results.numFailedTests + results.numRuntimeErrorTestSuites,
    skipped: results.numPendingTests + results.numTodoTests,
  };
} catch {
  summary = undefined;
}
fs.rmSync(path.dirname(resultsFile), { recursive: true, force: true });

const code = run.status ?? 1;
if (summary) {
  console.log(`${summary.passed} passed, ${summary.failed} failed, ${summary.skipped} skipped`);
} else {
  console.log(`0 passed, 1 failed`);
  console.error('jest produced no results file; see its output above.');
}
process.exit(summary && summary.failed > 0 && code === 0 ? 1 : code);
