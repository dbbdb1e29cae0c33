import { undocumentedVariables } from './docs';
import { int, text } from './fields';
import { z } from 'zod';

const schema = z.object({
  WORKER_BATCH_MAX: int({ default: 8 }),
  STORAGE_BACKEND: text({ default: 'local' }),
  S3_BUCKET: text().optional(),
  S3_REGION: text().optional(),
  LOG_LEVEL: text({ default: 'info' }),
});

describe('undocumentedVariables', () => {
  it('accepts a variable named alone or with a value, or under a wildcard in a table row', () => {
    const readme = [
      '| `WORKER_BATCH_MAX` | 8 | … |',
      '  | `S3_*` | | @framewise/storage |',
      'Set `STORAGE_BACKEND=s3`; `LOG_LEVEL` as every service.',
    ].join('\n');
    expect(undocumentedVariables(schema, readme)).toEqual([]);
  });

  it('lists the variables the text does not name, in schema order', () => {
    const readme = 'Only `WORKER_BATCH_MAX` and `S3_BUCKET` here.';
    expect(undocumentedVariables(schema, readme)).toEqual([
      'STORAGE_BACKEND',
      'S3_REGION',
      'LOG_LEVEL',
    ]);
  });

  it('does not count a name outside a code span, a longer name, a span across lines, or a wildcard in prose', () => {
    const readme = [
      'WORKER_BATCH_MAX in prose, `WORKER_BATCH_MAX_2`, `STORAGE_*X`, `LOG_',
      'LEVEL`, `S3_REGIONS`; every `S3_*` variable is passed on.',
    ].join('\n');
    expect(undocumentedVariables(schema, readme)).toEqual([
      'WORKER_BATCH_MAX',
      'STORAGE_BACKEND',
      'S3_BUCKET',
      'S3_REGION',
      'LOG_LEVEL',
    ]);
  });
});
