import fs from 'node:fs';
import path from 'node:path';
import { undocumentedVariables } from '@framewise/config';
import { reaperConfigSchema } from './config';

it('the README names every variable the reaper reads', () => {
  const readme = fs.readFileSync(path.join(__dirname, '..', 'README.md'), 'utf8');
  expect(undocumentedVariables(reaperConfigSchema, readme)).toEqual([]);
});
