/**
 * @framewise/stack — a whole framewise system on one machine, from local binaries, no Docker:
 *
 * ```ts
 * const stack = await startStack({ dataDir, modelPath, workers: 2, hostEnv: process.env });
 * // stack.apiUrl, stack.apiKey; stack.processes('worker')[0].kill(); stack.redis.restart() …
 * await stack.stop();
 * ```
 *
 * Also the generic local-server pieces the test harness builds on: binary lookup
 * ({@link findRedisServer}, {@link findPostgresBin}, {@link postgresRunAs}) and crashable
 * {@link RedisProcess} / {@link PostgresProcess} servers in a given directory.
 */
export { startStack, ROLES } from './stack';
export type { Stack, StackOptions, StackServer, StackStorage } from './stack';
export type { Role, ServiceProcess } from './service-process';
export {
  INSTALL_HINTS,
  which,
  findRedisServer,
  findPostgresBin,
  postgresRunAs,
} from './servers/binaries';
export type { HostEnv, RunAs } from './servers/binaries';
export { LocalServerProcess } from './servers/server-process';
export type { LaunchSpec } from './servers/server-process';
export { RedisProcess } from './servers/redis-server';
export type { AppendFsync, RedisProcessOptions } from './servers/redis-server';
export {
  PostgresProcess,
  initPostgresDataDir,
  postgresSettingArgs,
  postgresVersion,
} from './servers/postgres-server';
export type { PostgresProcessOptions } from './servers/postgres-server';
export { freePort, PORT_RESERVATION_MS } from './servers/ports';
export type { PortPickOptions } from './servers/ports';
export { childrenOf, isAlive, killTree, tailOf, waitForExit, waitUntil } from './servers/processes';
