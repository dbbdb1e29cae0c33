import type { z } from 'zod';

/**
 * The variables of `schema` that `markdown` (a service's README) does not name. A variable is
 * named by a code span of its own (`` `WORKER_BATCH_MAX` ``) or with a value
 * (`` `STORAGE_BACKEND=s3` ``), anywhere; or by a wildcard over its prefix (`` `S3_*` ``) in a
 * table row, as the rows of shared variables write them (a wildcard in prose, such as "every
 * `WORKER_*` variable is passed on", documents nothing). Each service's spec expects an empty
 * list, so a variable added to a schema without a line in the README fails the tests.
 */
export function undocumentedVariables(schema: z.ZodObject, markdown: string): string[] {
  const named = new Set<string>();
  const prefixes: string[] = [];
  for (const line of markdown.split('\n')) {
    const inTable = line.trimStart().startsWith('|');
    for (const [, span = ''] of line.matchAll(/`([^`]+)`/g)) {
      const wildcard = /^([A-Z][A-Z0-9_]*_)\*$/.exec(span);
      if (wildcard?.[1] !== undefined) {
        if (inTable) prefixes.push(wildcard[1]);
        continue;
      }
      const variable = /^([A-Z][A-Z0-9_]*)(?:=.*)?$/.exec(span);
      if (variable?.[1] !== undefined) named.add(variable[1]);
    }
  }
  return Object.keys(schema.shape).filter(
    (key) => !named.has(key) && !prefixes.some((prefix) => key.startsWith(prefix)),
  );
}
