// `npm run deploy:generate`: writes the generated deployment files (see generate.ts).
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { REPO_ROOT, generatedFiles } from './generate';

async function main(): Promise<void> {
  for (const [file, content] of await generatedFiles()) {
    const target = path.join(REPO_ROOT, file);
    await fs.mkdir(path.dirname(target), { recursive: true });
    await fs.writeFile(target, content);
    process.stdout.write(`wrote ${file}\n`);
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${String(error)}\n`);
  process.exitCode = 1;
});
