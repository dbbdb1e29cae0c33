#!/usr/bin/env node
// The `framewise` command. npm links it into node_modules/.bin on install (this workspace's
// "bin"), so `npx framewise detect …` works from the repository root.
//
// In a development checkout (tsx, a dev dependency, is installed) it runs the TypeScript
// sources, so it works right after `npm ci` and never runs a stale build. In a production
// install (`npm ci --omit=dev`) it runs the built dist/, and says how to build it if missing.
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const root = path.join(__dirname, '..');
const source = path.join(root, 'src', 'cli', 'main.ts');
const built = path.join(root, 'dist', 'cli', 'main.js');

function tsxAvailable() {
  try {
    require.resolve('tsx/cjs');
    return true;
  } catch {
    return false;
  }
}

if (fs.existsSync(source) && tsxAvailable()) {
  require('tsx/cjs');
  require(source);
} else if (fs.existsSync(built)) {
  require(built);
} else {
  process.stderr.write(
    'framewise: libs/detector is not built. Run `npm run build` (or install dev dependencies).\n',
  );
  process.exitCode = 1;
}
