import { RedisProcess } from '@framewise/stack';
import type { RedisOptions, RedisServer } from '../servers';
import { INSTALL_HINTS, findRedisServer } from './binaries';
import { freePort } from './ports';
import { createInstanceDir, recordPid, removeInstanceDir } from './processes';

/**
 * A private redis-server with AOF on, in its own instance directory under the harness root,
 * on a free port (the server itself is @framewise/stack's RedisProcess).
 */
export class LocalRedis extends RedisProcess implements RedisServer {
  readonly source = 'local' as const;

  static available(): boolean {
    return findRedisServer() !== undefined;
  }

  static async create(options: RedisOptions = {}): Promise<LocalRedis> {
    const binary = findRedisServer();
    if (!binary) {
      throw new Error(`No redis-server binary for a private test Redis: ${INSTALL_HINTS.redis}.`);
    }
    const dir = createInstanceDir('redis');
    try {
      const redis = new LocalRedis({
        binary,
        dir,
        port: await freePort(),
        ...(options.appendfsync === undefined ? {} : { appendfsync: options.appendfsync }),
      });
      await redis.start();
      return redis;
    } catch (error) {
      removeInstanceDir(dir);
      throw error;
    }
  }

  protected override onSpawned(pid: number): void {
    recordPid(this.dir, pid);
  }

  /** Graceful stop, then its directory is removed. */
  async stop(): Promise<void> {
    await this.shutdown();
    removeInstanceDir(this.dir);
  }
}
