// Shared jest settings. Two tiers of tests, as two jest "projects":
//   unit: *.spec.ts beside the code, pure logic, no infrastructure;
//   int:  *.int.spec.ts against real Redis / Postgres (and later S3, ffmpeg) started by
//         @framewise/testing's global setup, once per run.
// The root jest.config.js runs both tiers over every project; each project's own
// jest.config.js runs them over that project only (the Nx `test` / `test:int` targets).
const path = require('node:path');

const workspaceRoot = __dirname;

const transform = {
  '^.+\\.ts$': [
    '@swc/jest',
    {
      jsc: { parser: { syntax: 'typescript' }, target: 'es2022' },
      module: { type: 'commonjs' },
      sourceMaps: 'inline',
    },
  ],
};

// Library imports always go through the lib's single public entry.
const moduleNameMapper = {
  '^@framewise/([a-z0-9-]+)$': path.join(workspaceRoot, 'libs/$1/src/index.ts'),
};

function tier(displayName, roots, testMatch, extra) {
  return {
    displayName,
    rootDir: workspaceRoot,
    roots,
    testMatch,
    transform,
    moduleNameMapper,
    testEnvironment: 'node',
    moduleFileExtensions: ['ts', 'js', 'json'],
    modulePathIgnorePatterns: ['<rootDir>/.*/dist/'],
    ...extra,
  };
}

/** Jest projects (unit + int) whose tests live under the given roots. */
function tiers(roots) {
  return [
    tier('unit', roots, ['**/*.spec.ts'], {
      testPathIgnorePatterns: ['/node_modules/', '\\.int\\.spec\\.ts$'],
    }),
    tier('int', roots, ['**/*.int.spec.ts'], {
      // Shares the main context's typed arrays with each test file, so native addons
      // (onnxruntime-node) pass their own instanceof checks; see the file for why.
      testEnvironment: path.join(workspaceRoot, 'libs/testing/jest.environment.js'),
      globalSetup: path.join(workspaceRoot, 'libs/testing/src/jest/global-setup.ts'),
      globalTeardown: path.join(workspaceRoot, 'libs/testing/src/jest/global-teardown.ts'),
    }),
  ];
}

// Reads `@framewise-needs s3` pragmas of the selected tests before the global setup, so the
// setup starts costly servers only when some test needs them (a global option, not per project).
const testSequencer = path.join(workspaceRoot, 'libs/testing/src/jest/sequencer.js');

// Integration tests start servers and crash them; 60 s per test leaves room on a loaded
// two-core machine. (testTimeout is a global option in jest, not a per-project one.)
const testTimeout = 60_000;

/** Config for one project's own jest run (used by its Nx targets). */
function projectConfig(projectDir) {
  return { projects: tiers([projectDir]), testTimeout, testSequencer };
}

module.exports = { tiers, projectConfig, workspaceRoot, testTimeout, testSequencer };
