import type { ChildProcess } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import type { AppendFsync, RedisOptions, RedisServer } from '../servers';
import { INSTALL_HINTS, findRedisServer } from './binaries';
import { freePort } from './ports';
import {
  createInstanceDir,
  killTree,
  recordPid,
  removeInstanceDir,
  spawnServer,
  tailOf,
  waitForExit,
  waitUntil,
} from './processes';

/** A private redis-server with AOF on, in its own temp directory, on a free port. */
export class LocalRedis implements RedisServer {
  readonly source = 'local' as const;
  readonly appendfsync: AppendFsync;
  private child: ChildProcess | undefined;

  private constructor(
    private readonly binary: string,
    /** Its data directory (AOF, log, owner file). */
    readonly dir: string,
    readonly port: number,
    options: RedisOptions,
  ) {
    this.appendfsync = options.appendfsync ?? 'everysec';
  }

  static available(): boolean {
    return findRedisServer() !== undefined;
  }

  static async create(options: RedisOptions = {}): Promise<LocalRedis> {
    const binary = findRedisServer();
    if (!binary)
      throw new Error(`No redis-server binary for a private test Redis: ${INSTALL_HINTS.redis}.`);
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

  /** The server's pid while it runs. */
  get pid(): number | undefined {
    return this.child?.pid;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  private get logFile(): string {
    return path.join(this.dir, 'redis.log');
  }

  async start(): Promise<void> {
    if (this.child) throw new Error('redis is already running');
    const args = [
      '--port',
      String(this.port),
      '--bind',
      '127.0.0.1',
      '--dir',
      this.dir,
      '--logfile',
      this.logFile,
      '--daemonize',
      'no',
      '--appendonly',
      'yes',
      '--appendfsync',
      this.appendfsync,
      '--save',
      '',
      '--maxmemory-policy',
      'noeviction',
      '--protected-mode',
      'no',
    ];
    const child = spawnServer(this.binary, args, { cwd: this.dir });
    this.child = child;
    if (child.pid !== undefined) recordPid(this.dir, child.pid);
    const exited = () =>
      child.exitCode !== null || child.signalCode !== null
        ? `redis-server exited with ${String(child.exitCode ?? child.signalCode)}`
        : undefined;
    await waitUntil(() => pingRedis(this.port), {
      timeoutMs: 15_000,
      abortIf: exited,
      describe: () =>
        `private Redis on port ${this.port} did not come up; its log:\n${tailOf(this.logFile)}`,
    });
  }

  async kill(): Promise<void> {
    const child = this.child;
    if (!child) return;
    this.child = undefined;
    if (child.pid !== undefined) killTree(child.pid);
    await waitForExit(child);
  }

  async restart(): Promise<void> {
    await this.kill();
    await this.start();
  }

  async stop(): Promise<void> {
    const child = this.child;
    this.child = undefined;
    if (child) {
      child.kill('SIGTERM');
      await waitForExit(child).catch(async () => {
        if (child.pid !== undefined) killTree(child.pid);
        await waitForExit(child);
      });
    }
    removeInstanceDir(this.dir);
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
