import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import type { S3Server } from '../servers';
import type { CephProgram } from './binaries';
import { INSTALL_HINTS, findCephPrograms } from './binaries';
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

/**
 * A private Ceph cluster that exists to serve S3: one monitor, one OSD keeping objects in
 * memory (memstore), and the RADOS Gateway (beast frontend) on 127.0.0.1, all in one
 * instance directory with their logs. One S3 user is created with radosgw-admin.
 *
 * Startup takes about 5 s on an idle machine. What matters for that and for it working at all:
 * - `mon host` is written `v1:127.0.0.1:PORT` and msgr2 is off: on a non-default port the
 *   monitor would otherwise advertise an address the OSD cannot use, and the OSD never boots;
 * - cephx is off (loopback only; SigV4 is checked by the gateway regardless), so no keyrings;
 * - one replica, few placement groups and no autoscaler: the gateway creates its pools at
 *   start and waits until they are active;
 * - a short Paxos interval and monitor tick: each pool the gateway creates is a monitor
 *   commit, and PG creation waits for a tick; the defaults add ~10 s.
 *
 * Every daemon runs in the foreground (`-f`), so the pid recorded is the daemon itself and
 * {@link sweepOrphans} can kill it; with stdio away from the test runner and the instance
 * directory as working directory.
 */
export class LocalRadosgw implements S3Server {
  readonly source = 'local' as const;
  readonly region = 'us-east-1';
  private readonly daemons: { name: CephProgram; child: ChildProcess }[] = [];

  private constructor(
    private readonly bin: Record<CephProgram, string>,
    /** The instance directory: config, monitor store, logs. */
    readonly dir: string,
    private readonly monPort: number,
    readonly port: number,
    readonly accessKeyId: string,
    readonly secretAccessKey: string,
  ) {}

  static available(): boolean {
    return findCephPrograms() !== undefined;
  }

  static async create(): Promise<LocalRadosgw> {
    const bin = findCephPrograms();
    if (!bin) throw new Error(`No Ceph binaries for a private test S3: ${INSTALL_HINTS.radosgw}.`);
    const dir = createInstanceDir('radosgw');
    try {
      const [monPort, port] = [await freePort(), await freePort()];
      const server = new LocalRadosgw(
        bin,
        dir,
        monPort,
        port,
        // Access keys are 20 upper-case characters and secrets 40, as AWS issues them.
        randomBytes(10).toString('hex').toUpperCase(),
        randomBytes(20).toString('hex'),
      );
      await server.start();
      return server;
    } catch (error) {
      removeInstanceDir(dir);
      throw error;
    }
  }

  get endpoint(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Pids of the monitor, OSD and gateway while they run. */
  get pids(): number[] {
    return this.daemons.flatMap(({ child }) => (child.pid === undefined ? [] : [child.pid]));
  }

  private get conf(): string {
    return path.join(this.dir, 'ceph.conf');
  }

  private async start(): Promise<void> {
    const fsid = randomUUID();
    fs.mkdirSync(path.join(this.dir, 'mon', 'a'), { recursive: true });
    fs.mkdirSync(path.join(this.dir, 'osd', '0'), { recursive: true });
    fs.mkdirSync(path.join(this.dir, 'log'));
    fs.writeFileSync(this.conf, cephConf(this.dir, fsid, this.monPort));

    const monmap = path.join(this.dir, 'monmap');
    await this.tool('monmaptool', [
      '--create',
      '--clobber',
      '--fsid',
      fsid,
      '--addv',
      'a',
      `[v1:127.0.0.1:${this.monPort}]`,
      monmap,
    ]);
    await this.tool('ceph-mon', ['-c', this.conf, '--mkfs', '-i', 'a', '--monmap', monmap]);
    const mon = this.daemon('ceph-mon', ['-c', this.conf, '-f', '-i', 'a']);
    // The gateway waits for the monitor and the OSD by itself: starting it now overlaps its
    // own start-up with the OSD's creation.
    const startRgw = () =>
      this.daemon('radosgw', [
        '-c',
        this.conf,
        '-f',
        '-n',
        'client.rgw',
        '--rgw-frontends',
        `beast endpoint=127.0.0.1:${this.port}`,
      ]);
    let rgw = startRgw();
    let rgwStarts = 1;
    const osdUuid = randomUUID();
    await this.tool(
      'ceph',
      ['-c', this.conf, '--connect-timeout', '30', 'osd', 'new', osdUuid],
      mon,
    );
    await this.tool('ceph-osd', ['-c', this.conf, '-i', '0', '--mkfs', '--osd-uuid', osdUuid]);
    const startOsd = () => this.daemon('ceph-osd', ['-c', this.conf, '-f', '-i', '0']);
    let osd = startOsd();
    let osdStarts = 1;

    const dead = (): string | undefined => {
      // Under load a daemon sometimes asks the monitor something before its monitor client
      // has the cluster's fsid ("wrong fsid") and exits; a second start works.
      if (exited(osd) && osd.exitCode === 1 && osdStarts < 3) {
        this.forget(osd);
        osd = startOsd();
        osdStarts += 1;
      }
      if (exited(rgw) && rgw.exitCode !== null && rgw.exitCode !== 0 && rgwStarts < 3) {
        this.forget(rgw);
        rgw = startRgw();
        rgwStarts += 1;
      }
      for (const [name, child] of [
        ['ceph-mon', mon],
        ['ceph-osd', osd],
        ['radosgw', rgw],
      ] as const) {
        if (exited(child)) {
          return `${name} exited with ${String(child.exitCode ?? child.signalCode)}`;
        }
      }
      return undefined;
    };
    await waitUntil(() => answersHttp(this.port), {
      timeoutMs: 90_000,
      intervalMs: 100,
      abortIf: dead,
      describe: () => `private RADOS Gateway on port ${this.port} did not come up.\n${this.logs()}`,
    });
    await this.tool(
      'radosgw-admin',
      [
        '-c',
        this.conf,
        'user',
        'create',
        '--uid=framewise-test',
        '--display-name=framewise tests',
        `--access-key=${this.accessKeyId}`,
        `--secret-key=${this.secretAccessKey}`,
      ],
      mon,
    );
  }

  async stop(): Promise<void> {
    // The gateway first (it has requests in flight on the OSD), the monitor last.
    const order: readonly CephProgram[] = ['radosgw', 'ceph-osd', 'ceph-mon'];
    const byOrder = [...this.daemons].sort((a, b) => order.indexOf(a.name) - order.indexOf(b.name));
    for (const { child } of byOrder) {
      child.kill('SIGTERM');
      await waitForExit(child, 10_000).catch(async () => {
        if (child.pid !== undefined) killTree(child.pid);
        await waitForExit(child);
      });
    }
    this.daemons.length = 0;
    removeInstanceDir(this.dir);
  }

  private forget(child: ChildProcess): void {
    const index = this.daemons.findIndex((d) => d.child === child);
    if (index >= 0) this.daemons.splice(index, 1);
  }

  private daemon(name: CephProgram, args: readonly string[]): ChildProcess {
    const child = spawnServer(this.bin[name], args, { cwd: this.dir });
    this.daemons.push({ name, child });
    if (child.pid !== undefined) recordPid(this.dir, child.pid);
    return child;
  }

  /** Runs a one-shot Ceph tool, without blocking the event loop (Redis and Postgres start meanwhile). */
  /**
   * Runs a one-shot Ceph tool. Clients of the monitor (`ceph`, `radosgw-admin`) are retried:
   * with cephx off, a client sometimes sends its first command before it has the monitor map,
   * the monitor refuses it ("fsid 00000000… != …", EPERM), and the same command works a moment
   * later. Both commands here are idempotent.
   */
  private async tool(
    name: CephProgram,
    args: readonly string[],
    mon?: ChildProcess,
  ): Promise<string> {
    const attempts = name === 'ceph' || name === 'radosgw-admin' ? 4 : 1;
    for (let attempt = 1; ; attempt += 1) {
      try {
        return await this.runOnce(name, args, mon);
      } catch (error) {
        // An earlier attempt may have got through before failing.
        if (attempt > 1 && name === 'radosgw-admin' && String(error).includes('exists')) return '';
        if (attempt >= attempts || (mon !== undefined && exited(mon))) throw error;
        await new Promise((r) => setTimeout(r, 250 * attempt));
      }
    }
  }

  private runOnce(name: CephProgram, args: readonly string[], mon?: ChildProcess): Promise<string> {
    return new Promise((resolve, reject) => {
      const child = spawn(this.bin[name], args, {
        cwd: this.dir,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let output = '';
      child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
      child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
      const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
      child.once('error', (error) => {
        clearTimeout(timer);
        reject(error);
      });
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        if (code === 0) {
          resolve(output);
          return;
        }
        const monDied =
          mon !== undefined && (mon.exitCode !== null || mon.signalCode !== null)
            ? ' (the monitor has exited)'
            : '';
        reject(
          new Error(
            `${name} ${args.join(' ')} failed with ${String(code ?? signal)}${monDied}:\n${output.trim()}\n${this.logs()}`,
          ),
        );
      });
    });
  }

  /** Each daemon's errors and last lines, for error messages (the directory goes with it). */
  private logs(): string {
    return ['mon.a', 'osd.0', 'client.rgw']
      .map((name) => {
        const file = path.join(this.dir, 'log', `${name}.log`);
        let errors: string[] = [];
        try {
          // Ceph marks errors with level -1; an abort() prints the exception's what().
          errors = fs
            .readFileSync(file, 'utf8')
            .split('\n')
            .filter((line) => / -1 |what\(\)|Assertion|ERROR/.test(line))
            .slice(0, 10);
        } catch {
          // no log yet
        }
        const head = errors.length > 0 ? `errors:\n${errors.join('\n')}\nlast lines:\n` : '';
        return `--- ${name}.log:\n${head}${tailOf(file, 12)}`;
      })
      .join('\n');
  }
}

function exited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

function cephConf(dir: string, fsid: string, monPort: number): string {
  return `[global]
fsid = ${fsid}
mon host = v1:127.0.0.1:${monPort}
mon initial members = a
ms bind msgr2 = false
auth cluster required = none
auth service required = none
auth client required = none
run dir = ${dir}
admin socket = ${dir}/$name.asok
log file = ${dir}/log/$name.log
pid file =
crash dir = ${dir}/crash
mon data = ${dir}/mon/$id
osd data = ${dir}/osd/$id
osd objectstore = memstore
# Capacity the OSD reports; objects take memory only as they are written.
memstore device bytes = 8589934592
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
osd crush chooseleaf type = 0
mon allow pool size one = true
mon max pg per osd = 1000
mon warn on pool no redundancy = false
# The harness's disk may be nearly full; the monitor would stop itself.
mon data avail warn = 1
mon data avail crit = 0
paxos propose interval = 0.01
paxos min wait = 0.001
mon tick interval = 1
# Deleted multipart tails are freed at once, not two hours later.
rgw gc obj min wait = 0
rgw dynamic resharding = false
`;
}

/** True once something answers HTTP on the port (the gateway answers / anonymously). */
function answersHttp(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/', timeout: 1000 }, (res) => {
      res.resume();
      resolve(res.statusCode !== undefined && res.statusCode < 500);
    });
    req.on('timeout', () => {
      req.destroy();
      resolve(false);
    });
    req.on('error', () => {
      resolve(false);
    });
  });
}
