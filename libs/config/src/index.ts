/**
 * @framewise/config — each service declares one zod schema whose keys are environment
 * variable names, and parses it once in `main.ts`:
 *
 * ```ts
 * const schema = z.object({ ...logging, ...redis, PORT: port({ default: 8080 }) });
 * const config = loadConfig(schema, process.env, { service: 'api' });
 * ```
 *
 * A bad environment fails with one {@link ConfigError} listing every bad variable. Each
 * service's `config.spec.ts` checks with {@link undocumentedVariables} that its README names
 * every variable of its schema.
 */
export { loadConfig, ConfigError, describeConfig, maskUrlPassword, secret } from './load';
export type { Env, ConfigProblem, LoadConfigOptions } from './load';
export { bool, duration, int, list, oneOf, parseDuration, port, text, url } from './fields';
export * as fragments from './fragments';
export { undocumentedVariables } from './docs';
export { z } from 'zod';
