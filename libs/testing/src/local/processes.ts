import { spawn } from 'node:child_process';
import type { ChildProcess, SpawnOptions } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { isAlive, killTree } from '@framewise/stack';

// Process helpers shared with @framewise/stack, re-exported for the harness's own modules.
export { childrenOf, isAlive, killTree, tailOf, waitForExit, waitUntil } from '@framewise/stack';

/**
 * Bookkeeping that keeps test infrastructure from outliving its run.
 *
 * Every server the harness spawns gets its own directory under {@link harnessRoot} with an
 * `owner.json` naming the process that owns it (the jest process or worker) and the pids it
 * started. Three nets catch leftovers: the owner stops it (afterAll / global teardown); an
 * `exit` hook SIGKILLs whatever this process still owns; and {@link sweepOrphans}, run at every
 * global setup and teardown, kills servers whose owner is gone and removes their files.
 */

/** Root of everything the harness writes: `$TMPDIR/framewise-test`. */
export function harnessRoot(): string {
  return path.join(os.tmpdir(), 'framewise-test');
}

interface OwnerFile {
  readonly ownerPid: number;
  readonly pids: number[];
  readonly kind: string;
}

const ownedDirs = new Map<string, OwnerFile>();
let exitHookInstalled = false;

/** A fresh directory for one server instance, owned by this process. */
export function createInstanceDir(kind: string): string {
  const root = harnessRoot();
  fs.mkdirSync(root, { recursive: true, mode: 0o755 });
  const dir = fs.mkdtempSync(path.join(root, `${kind}-${process.pid}-`));
  fs.chmodSync(dir, 0o755);
  const owner: OwnerFile = { ownerPid: process.pid, pids: [], kind };
  ownedDirs.set(dir, owner);
  writeOwner(dir, owner);
  installExitHook();
  return dir;
}

/** Records a pid started for the instance in `dir`, so it can be killed if its owner dies. */
export function recordPid(dir: string, pid: number): void {
  const owner = ownedDirs.get(dir);
  if (!owner) throw new Error(`not an instance directory of this process: ${dir}`);
  owner.pids.push(pid);
  writeOwner(dir, owner);
}

/** Removes an instance directory this process owns (after its server stopped). */
export function removeInstanceDir(dir: string): void {
  ownedDirs.delete(dir);
  fs.rmSync(dir, { recursive: true, force: true });
}

function writeOwner(dir: string, owner: OwnerFile): void {
  fs.writeFileSync(path.join(dir, 'owner.json'), JSON.stringify(owner));
}

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const [dir, owner] of ownedDirs) {
      for (const pid of owner.pids) killTree(pid);
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
}

/**
 * Kills servers whose owning process is gone and deletes their directories. Safe to call at
 * any time from any process; returns how many instance directories it cleaned.
 */
export function sweepOrphans(): number {
  const root = harnessRoot();
  let entries: string[];
  try {
    entries = fs.readdirSync(root);
  } catch {
    return 0;
  }
  let cleaned = 0;
  for (const name of entries) {
    const dir = path.join(root, name);
    const ownerPath = path.join(dir, 'owner.json');
    let owner: OwnerFile;
    try {
      owner = JSON.parse(fs.readFileSync(ownerPath, 'utf8')) as OwnerFile;
    } catch {
      continue; // not an instance directory (the Postgres template cache, say)
    }
    if (isAlive(owner.ownerPid)) continue;
    for (const pid of owner.pids) {
      if (runsIn(pid, dir)) killTree(pid);
    }
    fs.rmSync(dir, { recursive: true, force: true });
    cleaned += 1;
  }
  return cleaned;
}

/**
 * True when the process runs in `dir` (servers are spawned with it as their working directory)
 * or names it on its command line: guards against killing a recycled pid.
 */
function runsIn(pid: number, dir: string): boolean {
  if (process.platform !== 'linux') return isAlive(pid); // no /proc: trust the pid file
  try {
    if (fs.readlinkSync(`/proc/${pid}/cwd`).startsWith(dir)) return true;
  } catch {
    // not ours to inspect, or gone
  }
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(dir);
  } catch {
    return false;
  }
}

/** Spawns a server process with its output kept out of the test runner's stdout/stderr. */
export function spawnServer(
  command: string,
  args: readonly string[],
  options: SpawnOptions = {},
): ChildProcess {
  return spawn(command, args, { stdio: 'ignore', ...options });
}
