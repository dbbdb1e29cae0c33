// `npm start -- --test-model` and `npm run demo` as a newcomer runs them: the launcher starts
// the whole system, the demo uploads its generated sample and summarizes it, Ctrl-C (SIGINT)
// stops every process; and without a model the launcher says what to do.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { outputRead } from '@framewise/testing';

jest.setTimeout(240_000);

const ROOT = path.resolve(__dirname, '../../..');

interface Run {
  readonly child: ChildProcess;
  output(): string;
  readonly exited: Promise<number | null>;
}

function run(entry: string, args: string[], env: Record<string, string>): Run {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(__dirname, entry), ...args], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '',
      TSX_TSCONFIG_PATH: path.join(ROOT, 'services/launcher/tsconfig.json'),
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => {
      // The last lines can still be in the pipes when 'exit' comes.
      void outputRead(child).then(() => {
        resolve(code);
      });
    }),
  );
  return { child, output: () => output, exited };
}

async function waitFor(r: Run, text: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!r.output().includes(text)) {
    if (r.child.exitCode !== null) throw new Error(`exited ${r.child.exitCode}:\n${r.output()}`);
    if (Date.now() > deadline) throw new Error(`no "${text}" yet:\n${r.output()}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

let dir: string;
let launcher: Run | undefined;

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'framewise-launcher-'));
  fs.chmodSync(dir, 0o755); // as root, Postgres runs as the postgres user and must enter it
});

afterAll(async () => {
  if (launcher?.child.exitCode === null) {
    launcher.child.kill('SIGINT');
    await launcher.exited;
  }
  fs.rmSync(dir, { recursive: true, force: true });
});

test('npm start runs the system, restarts a killed worker, the demo summarizes its sample, Ctrl-C stops everything', async () => {
  const dataDir = path.join(dir, 'data');
  launcher = run('main.ts', ['--test-model', '--port', '0', '--workers', '1'], {
    FRAMEWISE_DATA_DIR: dataDir,
    REAPER_FINALIZE_INTERVAL: '200ms',
  });
  await waitFor(launcher, 'framewise is running (1 api, 1 extractor, 1 worker, 1 reaper)', 180_000);
  const apiUrl = /API\s+(http:\/\/127\.0\.0\.1:\d+)/.exec(launcher.output())?.[1];
  const key = /API key\s+(\S+)/.exec(launcher.output())?.[1];
  expect(apiUrl).toBeDefined();
  expect(launcher.output()).toContain(
    `curl -sS -H 'Authorization: Bearer ${key ?? ''}' -F file=@video.mp4 ${apiUrl ?? ''}/v1/videos`,
  );
  const recorded = () =>
    (
      JSON.parse(fs.readFileSync(path.join(dataDir, 'stack.json'), 'utf8')) as {
        pids: number[];
      }
    ).pids;
  expect(recorded().length).toBeGreaterThanOrEqual(6); // redis, postgres, api, extractor, worker, reaper

  // A worker that dies is restarted by the launcher (the demo below needs it).
  const worker = recorded().find((pid) => {
    try {
      return fs
        .readFileSync(`/proc/${pid}/cmdline`, 'utf8')
        .includes('services/worker/src/main.ts');
    } catch {
      return false;
    }
  });
  if (worker === undefined) throw new Error(`no worker among ${recorded().join(', ')}`);
  process.kill(worker, 'SIGKILL');
  await waitFor(launcher, '[worker-1] exited unexpectedly', 30_000);

  const demo = run('demo/main.ts', [], { FRAMEWISE_DATA_DIR: dataDir });
  const demoCode = await demo.exited;
  expect({ demoCode, output: demo.output() }).toMatchObject({ demoCode: 0 });
  // Two red rectangles in each of the 30 frames (6 s sampled at 5 fps).
  expect(demo.output()).toMatch(/red_square\s+60\s+30\/30\s+2\s+1\.00/);

  const pids = recorded();
  launcher.child.kill('SIGINT');
  expect(await launcher.exited).toBe(0);
  expect(launcher.output()).toContain('framewise: stopped');
  expect(pids.filter(alive)).toEqual([]);
  expect(fs.existsSync(path.join(dataDir, 'launcher.json'))).toBe(false);
});

test('without a model and without the download, npm start says exactly what to do', async () => {
  const r = run('main.ts', [], {
    FRAMEWISE_DATA_DIR: path.join(dir, 'no-model'),
    MODEL_DOWNLOAD: 'false',
  });
  expect(await r.exited).toBe(1);
  expect(r.output()).toContain('MODEL_DOWNLOAD=false forbids the download');
  expect(r.output()).toContain('yolo export model=yolov8n.pt format=onnx');
  expect(r.output()).toContain('npm start -- --test-model');
});

test('a busy port is named in the message, with the flag to pick another', async () => {
  const busy = net.createServer();
  await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
  const port = (busy.address() as AddressInfo).port;
  try {
    const r = run('main.ts', ['--test-model', '--port', String(port)], {
      FRAMEWISE_DATA_DIR: path.join(dir, 'busy-port'),
    });
    expect(await r.exited).toBe(1);
    expect(r.output()).toContain(`port ${port} on 127.0.0.1 is in use`);
    expect(r.output()).toContain('npm start -- --port 9000');
  } finally {
    await new Promise((resolve) => busy.close(resolve));
  }
});

test('a model path that does not exist is named in the message', async () => {
  const r = run('main.ts', ['--model', path.join(dir, 'missing.onnx')], {
    FRAMEWISE_DATA_DIR: path.join(dir, 'bad-model'),
  });
  expect(await r.exited).toBe(1);
  expect(r.output()).toContain(
    `--model names ${path.join(dir, 'missing.onnx')}, which does not exist`,
  );
});
