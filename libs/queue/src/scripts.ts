import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { RedisClient } from './redis-client';

/** A Lua script shipped with this library (src/lua, copied to dist/lua by the build). */
export interface LuaScript {
  readonly file: string;
  readonly lua: string;
  readonly sha: string;
}

/** The queue's scripts, each one atomic operation of the protocol. */
export interface QueueScripts {
  readonly ackAndClaim: LuaScript;
  readonly retryOrDeadLetter: LuaScript;
  readonly returnProcessing: LuaScript;
  readonly promoteDue: LuaScript;
  readonly removeGroup: LuaScript;
  readonly replayDead: LuaScript;
}

/** Reads the scripts from disk (next to this module, so the built dist/ works as src/ does). */
export function loadQueueScripts(): QueueScripts {
  return {
    ackAndClaim: loadScript('ack-and-claim.lua'),
    retryOrDeadLetter: loadScript('retry-or-dead-letter.lua'),
    returnProcessing: loadScript('return-processing.lua'),
    promoteDue: loadScript('promote-due.lua'),
    removeGroup: loadScript('remove-group.lua'),
    replayDead: loadScript('replay-dead.lua'),
  };
}

function loadScript(file: string): LuaScript {
  const lua = readFileSync(path.join(__dirname, 'lua', file), 'utf8');
  return { file, lua, sha: createHash('sha1').update(lua).digest('hex') };
}

/**
 * EVALSHA, falling back to EVAL when Redis does not know the script (first use, or after a
 * restart or SCRIPT FLUSH); EVAL caches it, so later calls cost one EVALSHA. Plain calls
 * rather than ioredis `defineCommand`, so the injected client is never mutated.
 */
export async function runScript(
  redis: RedisClient,
  script: LuaScript,
  keys: readonly string[],
  args: readonly (string | number)[],
): Promise<unknown> {
  try {
    return await redis.evalsha(script.sha, keys.length, ...keys, ...args);
  } catch (error) {
    if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw error;
    return redis.eval(script.lua, keys.length, ...keys, ...args);
  }
}

// --- Reply readers: Lua replies arrive untyped; these check their shape once, here. ---

export function replyArray(reply: unknown, what: string): unknown[] {
  if (!Array.isArray(reply)) throw new Error(`unexpected ${what} reply: ${String(reply)}`);
  return reply as unknown[];
}

export function replyNumber(reply: unknown, what: string): number {
  if (typeof reply !== 'number') throw new Error(`unexpected ${what} reply: ${String(reply)}`);
  return reply;
}

export function replyStrings(reply: unknown, what: string): string[] {
  const items = replyArray(reply, what);
  for (const item of items) {
    if (typeof item !== 'string') throw new Error(`unexpected ${what} reply item: ${String(item)}`);
  }
  return items as string[];
}
