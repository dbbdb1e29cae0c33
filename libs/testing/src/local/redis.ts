import net from 'node:net';
import path from 'node:path';
import type { AppendFsync, RedisOptions, RedisServer } from '../servers';
import { INSTALL_HINTS, findRedisServer } from './binaries';
import { freePort } from './ports';
import { createInstanceDir, removeInstanceDir } from './processes';
import type { LaunchSpec } from './server-process';
import { LocalServerProcess } from './server-process';

/** A private redis-server with AOF on, in its own temp directory, on a free port. */
export class LocalRedis extends LocalServerProcess implements RedisServer {
  readonly source = 'local' as const;
  readonly appendfsync: AppendFsync;
  protected readonly stopSignal = 'SIGTERM';

  private constructor(
    private readonly binary: string,
    dir: string,
    readonly port: number,
    options: RedisOptions,
  ) {
    super(dir, `private Redis on port ${port}`, path.join(dir, 'redis.log'));
    this.appendfsync = options.appendfsync ?? 'everysec';
  }

  static available(): boolean {
    return findRedisServer() !== undefined;
  }

  static async create(options: RedisOptions = {}): Promise<LocalRedis> {
    const binary = findRedisServer();
    if (!binary) {
      throw new Error(`No redis-server binary for a private test Redis: ${INSTALL_HINTS.redis}.`);
    }
    const dir = createInstanceDir('redis');
    const redis = new LocalRedis(binary, dir, await freePort(), options);
    try {
      await redis.start();
    } catch (error) {
      removeInstanceDir(dir);
      throw error;
    }
    return redis;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  protected launchSpec(): LaunchSpec {
    // prettier-ignore
    const args = [
      '--port', String(this.port),
      '--bind', '127.0.0.1',
      '--dir', this.dir,
      '--logfile', path.join(this.dir, 'redis.log'),
      '--daemonize', 'no',
      '--appendonly', 'yes',
      '--appendfsync', this.appendfsync,
      '--save', '',
      '--maxmemory-policy', 'noeviction',
      '--protected-mode', 'no',
    ];
    return {
      command: this.binary,
      args,
      ready: () => pingRedis(this.port),
      timeoutMs: 15_000,
    };
  }
}

/** True once Redis answers PING with PONG (not while it is still loading its AOF). */
function pingRedis(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    let reply = '';
    const finish = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1000, () => {
      finish(false);
    });
    socket.once('error', () => {
      finish(false);
    });
    socket.once('connect', () => {
      socket.write('PING\r\n');
    });
    socket.on('data', (chunk) => {
      reply += chunk.toString('utf8');
      if (reply.includes('\r\n')) finish(reply.startsWith('+PONG'));
    });
  });
}
