import { execFile } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { which } from './binaries';
import {
  PORT_RESERVATION_MS,
  ephemeralRange,
  freePort,
  pickRange,
  reservationDirIn,
} from './ports';

const run = promisify(execFile);

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'framewise-ports-spec-'));
});
afterEach(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

function listen(port: number): Promise<net.Server> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      resolve(server);
    });
  });
}

function close(server: net.Server): Promise<void> {
  return new Promise((resolve) =>
    server.close(() => {
      resolve();
    }),
  );
}

/** `count` consecutive ports that nothing holds now, from the range freePort uses. */
async function freeRun(count: number): Promise<number> {
  for (;;) {
    const first = await freePort({ reservationDir: dir });
    const servers = await Promise.all(
      Array.from({ length: count }, (_, i) => listen(first + i).catch(() => undefined)),
    );
    const bound = servers.filter((s): s is net.Server => s !== undefined);
    await Promise.all(bound.map(close));
    fs.rmSync(path.join(dir, String(first)));
    if (bound.length === count) return first;
  }
}

test('picks outside the ephemeral range, so no outgoing connection can take the port', async () => {
  const [low, high] = ephemeralRange();
  for (let i = 0; i < 20; i++) {
    const port = await freePort({ reservationDir: dir });
    expect(port < low || port > high).toBe(true);
    await close(await listen(port));
  }
});

test('skips ports that a server holds and ports handed out recently, then says so', async () => {
  const first = await freeRun(3);
  const held = await Promise.all([listen(first), listen(first + 2)]);
  try {
    const range = [first, first + 2] as const;
    expect(await freePort({ range, reservationDir: dir })).toBe(first + 1);
    // first + 1 is now reserved (no server has bound it yet), the others are bound.
    await expect(freePort({ range, reservationDir: dir })).rejects.toThrow(
      new RegExp(`no free TCP port in ${first}–${first + 2} after 3 tries`),
    );
  } finally {
    await Promise.all(held.map(close));
  }
});

test('takes over a reservation older than the reservation time', async () => {
  const port = await freeRun(1);
  const file = path.join(dir, String(port));
  fs.writeFileSync(file, '');
  const range = [port, port] as const;
  await expect(freePort({ range, reservationDir: dir })).rejects.toThrow(/no free TCP port/);
  const old = (Date.now() - PORT_RESERVATION_MS - 1_000) / 1000;
  fs.utimesSync(file, old, old);
  expect(await freePort({ range, reservationDir: dir })).toBe(port);
});

test('processes picking at the same time from a narrow range never get the same port', async () => {
  // 4 processes × 25 picks from 120 ports: random picks without the shared reservations
  // would repeat a port almost surely (birthday bound), and binding alone cannot tell, since
  // nothing listens on a picked port here.
  const first = await freeRun(120);
  const script = `
    const { freePort } = require(${JSON.stringify(path.join(__dirname, 'ports.ts'))});
    (async () => {
      const ports = [];
      for (let i = 0; i < 25; i++) {
        ports.push(await freePort({ range: [${first}, ${first + 119}], reservationDir: ${JSON.stringify(dir)} }));
      }
      console.log(JSON.stringify(ports));
    })();`;
  const outputs = await Promise.all(
    Array.from({ length: 4 }, () => run(process.execPath, ['--import', 'tsx', '-e', script])),
  );
  const ports = outputs.flatMap((o) => JSON.parse(o.stdout) as number[]);
  expect(ports).toHaveLength(100);
  expect(new Set(ports).size).toBe(100);
  expect(fs.readdirSync(dir)).toHaveLength(100);
}, 60_000);

test('the default range lies below the ephemeral range when there is room, else above it', () => {
  expect(pickRange([32768, 60999])).toEqual([15000, 32767]);
  expect(pickRange([10000, 60000])).toEqual([60001, 65535]);
  expect(() => pickRange([1024, 65000])).toThrow(/ip_local_port_range/);
});

describe('the shared reservation directory', () => {
  it('is writable by every user, with the sticky bit (as /tmp is)', () => {
    const made = reservationDirIn(dir);
    expect(made).toBe(path.join(dir, 'framewise-ports'));
    expect(fs.statSync(made).mode & 0o7777).toBe(0o1777);
    expect(reservationDirIn(dir)).toBe(made);
  });

  const setpriv = which('setpriv', process.env);
  const asRoot = process.getuid?.() === 0;
  (asRoot && setpriv ? it : it.skip)(
    `is a per-user one where another user left it unwritable${asRoot && setpriv ? '' : ' (needs root and setpriv)'}`,
    async () => {
      fs.chmodSync(dir, 0o777);
      fs.mkdirSync(path.join(dir, 'framewise-ports'), { mode: 0o755 });
      const script = `
        const { reservationDirIn } = require(${JSON.stringify(path.join(__dirname, 'ports.ts'))});
        console.log(reservationDirIn(${JSON.stringify(dir)}));`;
      const { stdout } = await run(
        setpriv ?? 'setpriv',
        [
          '--reuid=65534',
          '--regid=65534',
          '--clear-groups',
          process.execPath,
          '--import',
          'tsx',
          '-e',
          script,
        ],
        { cwd: path.join(__dirname, '..', '..'), env: { ...process.env, HOME: dir } },
      );
      expect(stdout.trim()).toBe(path.join(dir, 'framewise-ports-65534'));
    },
    30_000,
  );
});
