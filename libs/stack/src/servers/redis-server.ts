import net from 'node:net';
import path from 'node:path';
import type { LaunchSpec } from './server-process';
import { LocalServerProcess } from './server-process';

/** AOF fsync policy; AOF itself is always on. */
export type AppendFsync = 'always' | 'everysec' | 'no';

export interface RedisProcessOptions {
  /** The redis-server executable (see `findRedisServer`). */
  readonly binary: string;
  /** Working directory: the AOF and `redis.log` live here. It must exist. */
  readonly dir: string;
  readonly port: number;
  /** Default `everysec`. */
  readonly appendfsync?: AppendFsync;
  /** Own process group: a Ctrl-C in the terminal reaches only the supervisor, which stops it. */
  readonly detached?: boolean;
}

/**
 * A redis-server from a local binary, with AOF on and `noeviction`, bound to 127.0.0.1.
 * `kill()` then `start()` replays the AOF in `dir` on the same port.
 */
export class RedisProcess extends LocalServerProcess {
  readonly port: number;
  readonly appendfsync: AppendFsync;
  protected readonly stopSignal = 'SIGTERM';
  private readonly binary: string;
  private readonly detached: boolean;

  constructor(options: RedisProcessOptions) {
    super(
      options.dir,
      `private Redis on port ${options.port}`,
      path.join(options.dir, 'redis.log'),
    );
    this.binary = options.binary;
    this.port = options.port;
    this.appendfsync = options.appendfsync ?? 'everysec';
    this.detached = options.detached ?? false;
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
      options: { detached: this.detached },
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
