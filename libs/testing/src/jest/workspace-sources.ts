// Jest runs the global setup and teardown in its own process, where the preset's
// `moduleNameMapper` does not apply: `@framewise/stack` would resolve through node_modules to
// the package's built dist/, which a fresh clone does not have. This maps `@framewise/<lib>`
// to the lib's source entry, as the preset's moduleNameMapper does for test files; jest's
// transform compiles that TypeScript while the setup module loads. Import it first.
import Module from 'node:module';
import path from 'node:path';

type ResolveFilename = (this: unknown, request: string, ...rest: unknown[]) => string;

const workspaceRoot = path.resolve(__dirname, '../../../..');
const loader = Module as unknown as {
  _resolveFilename: ResolveFilename;
  __framewiseSources?: true;
};

if (loader.__framewiseSources !== true) {
  loader.__framewiseSources = true;
  const resolve = loader._resolveFilename;
  loader._resolveFilename = function (request, ...rest) {
    const lib = /^@framewise\/([a-z0-9-]+)$/.exec(request)?.[1];
    const target =
      lib === undefined ? request : path.join(workspaceRoot, 'libs', lib, 'src', 'index.ts');
    return resolve.call(this, target, ...rest);
  };
}
