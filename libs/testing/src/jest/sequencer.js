// Jest test sequencer of the workspace: jest's default order, plus one job. Jest calls sort()
// with the selected test files before the global setup runs, in the same process; this reads
// the `@framewise-needs <server>[, <server>]` pragma from the docblocks at the top of each file and
// publishes the union in FRAMEWISE_TEST_NEEDS, so the setup starts a server that costs
// seconds (S3: a Ceph cluster) only when some selected test needs it.
const { Buffer } = require('node:buffer');
const fs = require('node:fs');
const Sequencer = require('@jest/test-sequencer').default;

const PRAGMA = /@framewise-needs\s+([a-z0-9]+(?:\s*,\s*[a-z0-9]+)*)/g;

function needsOf(file) {
  let head;
  try {
    // The pragma belongs in the docblock at the top: the first 4 KB are enough.
    const fd = fs.openSync(file, 'r');
    try {
      const buffer = Buffer.alloc(4096);
      head = buffer.toString('utf8', 0, fs.readSync(fd, buffer, 0, buffer.length, 0));
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    return [];
  }
  const docblocks = head.match(/\/\*\*[\s\S]*?\*\//g) ?? [];
  return docblocks.flatMap((block) =>
    [...block.matchAll(PRAGMA)].flatMap((m) => m[1].split(',').map((s) => s.trim())),
  );
}

class FramewiseSequencer extends Sequencer {
  sort(tests) {
    const needs = new Set(tests.flatMap((test) => needsOf(test.path)));
    process.env.FRAMEWISE_TEST_NEEDS = [...needs].sort().join(',');
    return super.sort(tests);
  }
}

module.exports = FramewiseSequencer;
module.exports.needsOf = needsOf;
