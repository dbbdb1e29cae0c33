import fs from 'node:fs';
import path from 'node:path';
import { undocumentedVariables } from '@framewise/config';
import { apiConfigSchema, extractorConfigSchema } from './config';

it.each([
  ['API', apiConfigSchema],
  ['extractor', extractorConfigSchema],
])('the README names every variable the %s reads', (_name, schema) => {
  const readme = fs.readFileSync(path.join(__dirname, '..', 'README.md'), 'utf8');
  expect(undocumentedVariables(schema, readme)).toEqual([]);
});
