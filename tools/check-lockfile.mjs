#!/usr/bin/env node
// Fails when package-lock.json names an optional dependency it has no entry for.
//
// The registry mirror our machines install from sometimes lacks other platforms' binaries for a
// package's newest release. `npm install` then skips them silently and leaves them out of the
// lockfile, and `npm ci` (CI) refuses the lockfile as out of sync. This finds that at lint time;
// the fix is an `overrides` pin to the newest version whose every platform binary exists.
import fs from 'node:fs';

const lock = JSON.parse(fs.readFileSync(new URL('../package-lock.json', import.meta.url), 'utf8'));
const packages = lock.packages ?? {};

/** Where npm would resolve `name` from the package at `location` (walking up node_modules). */
function resolves(location, name) {
  let base = location;
  for (;;) {
    if (packages[`${base ? `${base}/` : ''}node_modules/${name}`]) return true;
    if (base === '') return false;
    const cut = base.lastIndexOf('node_modules/');
    base = cut <= 0 ? '' : base.slice(0, cut - 1);
  }
}

const missing = [];
for (const [location, meta] of Object.entries(packages)) {
  for (const name of Object.keys(meta.optionalDependencies ?? {})) {
    if (!resolves(location, name))
      missing.push(`${name} (optional dependency of ${location || 'the root'})`);
  }
}

if (missing.length > 0) {
  console.error(
    `package-lock.json lacks ${missing.length} optional dependencies, so npm ci will refuse it:\n  ` +
      missing.join('\n  ') +
      '\nPin the parent (package.json "overrides") to the newest version whose every platform binary the registry serves.',
  );
  process.exit(1);
}
console.log('package-lock.json: every optional dependency is locked');
