import fs from 'node:fs';
import path from 'node:path';
import { ANALYTICS_SQL } from './analytics';

// Every query the README documents is the exact text the code runs (and the integration
// tests check on known data), so a copied query never drifts from a tested one.
describe('README analytics queries', () => {
  const readme = fs.readFileSync(path.join(__dirname, '..', 'README.md'), 'utf8');
  const blocks = [...readme.matchAll(/```sql\n([\s\S]*?)```/g)].map((m) => (m[1] ?? '').trim());

  it.each(Object.entries(ANALYTICS_SQL))('documents %s verbatim', (_name, text) => {
    expect(blocks).toContain(text.trim());
  });
});
