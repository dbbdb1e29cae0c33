import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

// The sequencer is plain JS (jest loads it without a transform).
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { needsOf } = require('./sequencer.js') as { needsOf: (file: string) => string[] };

describe('test sequencer pragma', () => {
  let dir: string;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fw-seq-'));
  });
  afterAll(() => {
    fs.rmSync(dir, { recursive: true, force: true });
  });
  const file = (name: string, text: string) => {
    const full = path.join(dir, name);
    fs.writeFileSync(full, text);
    return full;
  };

  it('reads the servers a test file needs from its docblock', () => {
    expect(needsOf(file('a.ts', '/**\n * @framewise-needs s3\n */\nimport x from "y";\n'))).toEqual(
      ['s3'],
    );
    expect(needsOf(file('b.ts', '/** @framewise-needs s3, kafka */\n'))).toEqual(['s3', 'kafka']);
  });

  it('ignores the word outside doc comments, and files without it', () => {
    expect(needsOf(file('c.ts', '// @framewise-needs s3\nconst a = 1;\n'))).toEqual([]);
    expect(needsOf(file('d.ts', 'const a = "@framewise-needs s3";\n'))).toEqual([]);
    expect(needsOf(path.join(dir, 'missing.ts'))).toEqual([]);
  });
});
